/*
 * trib_reschedule(instance, try, attempt, sensor state, delay ms) → the next poke's job id, or
 * NULL when the claim was lost. A sensor not yet satisfied: a compare-and-set on (id, try,
 * attempt, 'running'); the try goes back to 'queued' with its state kept, for a poke after the
 * delay. A poke is not an attempt of its own: its attempt row goes, so a day of pokes leaves no
 * rows behind.
 */
CREATE OR REPLACE FUNCTION trib_reschedule(p_instance bigint, p_try int, p_attempt int, p_state jsonb, p_delay_ms float8)
RETURNS text LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_job_id text;
BEGIN
  WITH up AS (
    UPDATE task_instances SET state = 'queued', pokes = pokes + 1, job_id = trib_job_id(run_id, task_id, map_index, try_number, pokes + 1),
      resume_state = p_state, attempt = attempt - 1, lease_until = NULL,
      not_before = now() + make_interval(secs => p_delay_ms / 1000), updated_at = now()
    WHERE id = p_instance AND try_number = p_try AND attempt = p_attempt AND state = 'running'
    RETURNING id, job_id
  ), dropped AS (
    DELETE FROM task_attempts a USING up WHERE a.task_instance_id = up.id AND a.try_number = p_try AND a.attempt = p_attempt
  )
  SELECT job_id INTO v_job_id FROM up;
  RETURN v_job_id;
END
$$;
