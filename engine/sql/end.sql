/*
 * trib_end(instance, try, attempt, state 'success'|'failed', result, error, code, log lines…,
 * worker, lease ms, take queue, upstream key) → {won, jobs, settle?, runState?, next?}. Ends a try for good in the caller's transaction: the
 * compare-and-set on (id, try, attempt, 'running') — a delivery that lost its claim changes
 * nothing and gets won=false (the caller rolls back) —, the try and attempt rows, the try's log
 * lines, the callback event, and the downstream decision. A parent task takes its run lock first
 * and returns the jobs trib_advance made ready. A mapped child takes no shared lock: it hands its
 * slice on (engine/sql/slice.sql: the next child taken when `take queue` is its queue, else that
 * child's job returned; a sibling taken gets `upstream` NULL when its upstream key is this try's:
 * the caller's results stand), and when its slice is done returns `settle` (its parent's id) for the
 * caller to pass to trib_settle_map after COMMIT. The end time
 * is clock_timestamp(): now() would be the start of the try's transaction, before the handler.
 * Hand-over (like Temporal's eager activity dispatch): when `take queue` is given and a job it
 * made ready is on that queue (and has no priority), the same transaction claims that try for
 * `worker` (trib_claim) and returns it as `next` instead of in `jobs`: it commits with this end,
 * and the worker runs it without the queue's round trip. If the worker dies, its lease expires and
 * the sweeper enqueues the try's job as for any lost attempt.
 */
CREATE OR REPLACE FUNCTION trib_end(
  p_instance bigint, p_try int, p_attempt int, p_state text, p_result jsonb, p_error text, p_code text,
  p_levels text[], p_messages text[], p_fields jsonb[], p_ats timestamptz[],
  p_worker text DEFAULT NULL, p_lease_ms float8 DEFAULT NULL, p_take_queue text DEFAULT NULL, p_upstream_key text DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  t record;
  v_won boolean;
  v_advanced jsonb;
  v_take jsonb;
  v_next jsonb;
BEGIN
  -- The run lock first, for a parent task only (the CASE evaluates the locking subquery only then).
  SELECT ti.run_id, ti.task_id, ti.map_index, dt.callback_events,
    CASE WHEN ti.map_index < 0 THEN (SELECT r.state FROM dag_runs r WHERE r.id = ti.run_id FOR NO KEY UPDATE) END AS run_state,
    CASE WHEN ti.map_index >= 0 THEN (
      SELECT p.id FROM task_instances p WHERE p.run_id = ti.run_id AND p.task_id = ti.task_id AND p.map_index = -1) END AS parent
  INTO t
  FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
  LEFT JOIN dag_tasks dt ON dt.dag_id = r.dag_id AND dt.task_id = ti.task_id
  WHERE ti.id = p_instance;
  IF NOT FOUND THEN RETURN jsonb_build_object('won', false); END IF;
  WITH done AS (
    UPDATE task_instances SET state = p_state, result = p_result, error = p_error, error_code = p_code,
      ended_at = clock_timestamp(), duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::int,
      resume_state = NULL, lease_until = NULL, updated_at = now()
    WHERE id = p_instance AND try_number = p_try AND attempt = p_attempt AND state = 'running'
    RETURNING duration_ms
  ), tried AS (
    UPDATE task_tries SET state = p_state, ended_at = clock_timestamp(), duration_ms = done.duration_ms, error = p_error, error_code = p_code
    FROM done WHERE task_instance_id = p_instance AND try_number = p_try
  ), attempted AS (
    UPDATE task_attempts SET state = p_state, ended_at = clock_timestamp(), error = p_error, error_code = p_code
    FROM done WHERE task_instance_id = p_instance AND try_number = p_try AND attempt = p_attempt
  ), logged AS (
    INSERT INTO task_logs (task_instance_id, try_number, level, message, fields, at)
    SELECT p_instance, p_try, l.level, l.message, l.fields, l.at
    FROM done, unnest(p_levels, p_messages, p_fields, p_ats) AS l(level, message, fields, at)
  )
  SELECT EXISTS (SELECT 1 FROM done) INTO v_won;
  IF NOT v_won THEN RETURN jsonb_build_object('won', false); END IF;
  IF cardinality(t.callback_events) > 0 THEN
    PERFORM trib_task_event(p_instance, p_try, CASE p_state WHEN 'success' THEN 'success' ELSE 'failure' END, p_error);
  END IF;
  IF t.map_index >= 0 THEN
    -- A mapped child hands its slice on (engine/sql/slice.sql): the next child is taken, or its job
    -- returned; either way a sibling is still open, so only a slice's last child settles the parent.
    v_take := trib_slice_next(p_instance);
    IF v_take IS NULL THEN RETURN jsonb_build_object('won', true, 'jobs', '[]'::jsonb, 'settle', t.parent); END IF;
    IF p_take_queue = v_take ->> 'queue' THEN
      SELECT to_jsonb(c) INTO v_next
      FROM trib_claim((v_take ->> 'instanceId')::bigint, (v_take ->> 'tryNumber')::int, p_worker, p_lease_ms, p_upstream_key) AS c;
      IF v_next IS NOT NULL THEN RETURN jsonb_build_object('won', true, 'jobs', '[]'::jsonb, 'next', v_next); END IF;
    END IF;
    RETURN jsonb_build_object('won', true, 'jobs', jsonb_build_array(v_take));
  END IF;
  IF t.run_state IS DISTINCT FROM 'running' THEN RETURN jsonb_build_object('won', true, 'jobs', '[]'::jsonb); END IF;
  v_advanced := trib_advance(t.run_id, ARRAY[t.task_id], true) || jsonb_build_object('won', true);
  IF p_take_queue IS NULL THEN RETURN v_advanced; END IF;
  SELECT j INTO v_take FROM jsonb_array_elements(v_advanced -> 'jobs') AS j
  WHERE j ->> 'queue' = p_take_queue AND NOT j ? 'priority' LIMIT 1;
  IF v_take IS NULL THEN RETURN v_advanced; END IF;
  SELECT to_jsonb(c) INTO v_next FROM trib_claim((v_take ->> 'instanceId')::bigint, (v_take ->> 'tryNumber')::int, p_worker, p_lease_ms) AS c;
  IF v_next IS NULL THEN RETURN v_advanced; END IF;
  RETURN v_advanced || jsonb_build_object('next', v_next, 'jobs', (
    SELECT coalesce(jsonb_agg(e.j ORDER BY e.i), '[]'::jsonb)
    FROM jsonb_array_elements(v_advanced -> 'jobs') WITH ORDINALITY AS e(j, i) WHERE e.j <> v_take));
END
$$;
