/*
 * trib_fenced(instance, try, attempt) → whether it was recorded: the attempt's worker came back
 * (after a stop, a pause, a partition) to find its claim taken over, and committed nothing. Its
 * attempt row, already ended by the takeover, records when; a running attempt is never touched.
 */
CREATE OR REPLACE FUNCTION trib_fenced(p_instance bigint, p_try int, p_attempt int) RETURNS boolean LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_fenced boolean;
BEGIN
  WITH fenced AS (
    UPDATE task_attempts SET fenced_at = coalesce(fenced_at, clock_timestamp())
    WHERE task_instance_id = p_instance AND try_number = p_try AND attempt = p_attempt AND state <> 'running'
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM fenced) INTO v_fenced;
  RETURN v_fenced;
END
$$;
