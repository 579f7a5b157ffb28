/*
 * trib_next_try(instance, state 'queued'|'up_for_retry', delay ms, error, code) → (try_number,
 * job_id). The instance's next try starts fresh: the next try number and its job id, every
 * per-try counter reset (pokes, attempt, lost_attempts, infra_retries), no lease, no sensor state;
 * it may start once the delay has passed (none when NULL). The one place those counters are reset
 * (trib_advance, trib_retry; trib_expand's upsert re-runs a mapped child with the same resets).
 */
CREATE OR REPLACE FUNCTION trib_next_try(
  p_instance bigint, p_state text, p_delay_ms float8 DEFAULT NULL, p_error text DEFAULT NULL, p_code text DEFAULT NULL
) RETURNS TABLE (try_number int, job_id text) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY UPDATE task_instances ti SET state = p_state, try_number = ti.try_number + 1,
    job_id = trib_job_id(ti.run_id, ti.task_id, ti.map_index, ti.try_number + 1),
    pokes = 0, attempt = 0, lost_attempts = 0, infra_retries = 0, resume_state = NULL, lease_until = NULL,
    not_before = now() + make_interval(secs => p_delay_ms / 1000),
    error = p_error, error_code = p_code, queued_at = now(), updated_at = now()
  WHERE ti.id = p_instance
  RETURNING ti.try_number, ti.job_id;
END
$$;
