/*
 * trib_retry(instance, try, attempt, error, code, delay ms) → the next try's job id, or NULL when
 * the claim was lost. The task's own retry: a compare-and-set on (id, try, attempt, 'running');
 * the try and its attempt end 'failed', and the next try (trib_next_try) waits 'up_for_retry'
 * for the backoff. Runs in the caller's transaction (its log lines and retry event commit with it).
 */
CREATE OR REPLACE FUNCTION trib_retry(p_instance bigint, p_try int, p_attempt int, p_error text, p_code text, p_delay_ms float8)
RETURNS text LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_job_id text;
BEGIN
  PERFORM 1 FROM task_instances
  WHERE id = p_instance AND try_number = p_try AND attempt = p_attempt AND state = 'running' FOR UPDATE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  UPDATE task_tries t SET state = 'failed', ended_at = clock_timestamp(), error = p_error, error_code = p_code,
    duration_ms = (extract(epoch FROM clock_timestamp() - t.started_at) * 1000)::int
  WHERE t.task_instance_id = p_instance AND t.try_number = p_try;
  UPDATE task_attempts a SET state = 'failed', ended_at = clock_timestamp(), error = p_error, error_code = p_code
  WHERE a.task_instance_id = p_instance AND a.try_number = p_try AND a.attempt = p_attempt;
  SELECT n.job_id INTO v_job_id FROM trib_next_try(p_instance, 'up_for_retry', p_delay_ms, p_error, p_code) n;
  RETURN v_job_id;
END
$$;
