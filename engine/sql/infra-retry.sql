/*
 * trib_infra_retry(instance, try, attempt, error, code, delay ms) → the job id of the try's next
 * attempt, or NULL when the claim was lost. The database or the queue failed under the attempt:
 * a compare-and-set on (id, try, attempt, 'running'); the attempt ends 'infra_error' and the SAME
 * try goes back to 'queued' for another attempt after the delay. The task's own retries are
 * untouched; infra_retries counts these (the caller stops at INFRA_RETRY_MAX).
 */
CREATE OR REPLACE FUNCTION trib_infra_retry(p_instance bigint, p_try int, p_attempt int, p_error text, p_code text, p_delay_ms float8)
RETURNS text LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_job_id text;
BEGIN
  WITH up AS (
    UPDATE task_instances SET state = 'queued', infra_retries = infra_retries + 1,
      job_id = trib_job_id(run_id, task_id, map_index, try_number, pokes, infra_retries + 1), error = p_error, error_code = p_code,
      lease_until = NULL, not_before = now() + make_interval(secs => p_delay_ms / 1000), updated_at = now()
    WHERE id = p_instance AND try_number = p_try AND attempt = p_attempt AND state = 'running'
    RETURNING id, job_id
  ), attempted AS (
    UPDATE task_attempts a SET state = 'infra_error', ended_at = clock_timestamp(), error = p_error, error_code = p_code
    FROM up WHERE a.task_instance_id = up.id AND a.try_number = p_try AND a.attempt = p_attempt
  )
  SELECT job_id INTO v_job_id FROM up;
  RETURN v_job_id;
END
$$;
