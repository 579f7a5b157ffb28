/*
 * trib_interrupt(instance ids, reason) → how many tries were closed. Every try and attempt of
 * these instances still 'running' becomes 'interrupted', with its end time and the reason as its
 * error: a running try, or a queued one that already has a try row (an engine retry after an
 * infrastructure error, a sensor between pokes). Called by trib_clear and trib_mark after they
 * locked the instance rows, so no claim or end can open or close one in between.
 */
CREATE OR REPLACE FUNCTION trib_interrupt(p_ids bigint[], p_reason text) RETURNS int
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_closed int;
BEGIN
  WITH tried AS (
    UPDATE task_tries t SET state = 'interrupted', ended_at = clock_timestamp(), error = p_reason,
      duration_ms = (extract(epoch FROM clock_timestamp() - t.started_at) * 1000)::int
    WHERE t.task_instance_id = ANY(p_ids) AND t.state = 'running'
    RETURNING 1
  ), attempted AS (
    UPDATE task_attempts a SET state = 'interrupted', ended_at = clock_timestamp(), error = p_reason
    WHERE a.task_instance_id = ANY(p_ids) AND a.state = 'running'
  )
  SELECT count(*)::int INTO v_closed FROM tried;
  RETURN v_closed;
END
$$;
