/*
 * trib_end_batch(instances, tries, attempts, results, log lines (owner: 1-based position in
 * instances, level, message, fields, at), worker, lease ms, take queue, take count, upstream key)
 * → {won, jobs, settle?, next}. Ends mapped children of one slice as succeeded, in the caller's
 * transaction (engine/lane-batch.ts holds the ends of children that did not use their try's
 * transaction and writes them together): each by its own compare-and-set on (id, try, attempt,
 * 'running'), as trib_end does — a child whose claim was lost changes nothing and is not in `won`
 * (ids, in the order given) —, its try and attempt rows, its log lines, its callback event.
 * Then the slice, from the last child given (engine/sql/slice.sql):
 * - take count > 0: up to that many next children claimed for `worker` (trib_claim; a child
 *   whose upstream key is `upstream key` gets `upstream` NULL: the caller's results stand),
 *   in one statement (trib_claim_batch), returned in `next` in slice order; when none can be
 *   claimed here (another queue, a run no longer running) the next child's job is returned instead;
 * - take count 0: the next child's job;
 * - no next child: `settle` (the parent's id, for trib_settle_map after COMMIT);
 * - take count < 0: the caller still holds claimed children of the slice: no hand-on, no settle.
 */
CREATE OR REPLACE FUNCTION trib_end_batch(
  p_instances bigint[], p_tries int[], p_attempts int[], p_results jsonb[],
  p_line_owners int[], p_levels text[], p_messages text[], p_fields jsonb[], p_ats timestamptz[],
  p_worker text, p_lease_ms float8, p_take_queue text, p_take int, p_upstream_key text
) RETURNS jsonb LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_won bigint[];
  v_event record;
  v_from bigint := p_instances[cardinality(p_instances)];
  v_first jsonb;
  v_ids bigint[];
  v_tries int[];
  v_next jsonb := '[]'::jsonb;
BEGIN
  WITH given AS (
    SELECT * FROM unnest(p_instances, p_tries, p_attempts, p_results) WITH ORDINALITY AS g(id, try_number, attempt, result, n)
  ), done AS (
    UPDATE task_instances ti SET state = 'success', result = g.result, error = NULL, error_code = NULL,
      ended_at = clock_timestamp(), duration_ms = (extract(epoch FROM clock_timestamp() - ti.started_at) * 1000)::int,
      resume_state = NULL, lease_until = NULL, updated_at = now()
    FROM given g
    WHERE ti.id = ANY (p_instances) -- the primary key finds each child (see claim.sql)
      AND ti.id = g.id AND ti.try_number = g.try_number AND ti.attempt = g.attempt AND ti.state = 'running' AND ti.map_index >= 0
    RETURNING ti.id, ti.try_number, ti.attempt, ti.duration_ms, g.n
  ), tried AS (
    UPDATE task_tries tt SET state = 'success', ended_at = clock_timestamp(), duration_ms = d.duration_ms, error = NULL, error_code = NULL
    FROM done d WHERE tt.task_instance_id = d.id AND tt.try_number = d.try_number
  ), attempted AS (
    UPDATE task_attempts a SET state = 'success', ended_at = clock_timestamp(), error = NULL, error_code = NULL
    FROM done d WHERE a.task_instance_id = d.id AND a.try_number = d.try_number AND a.attempt = d.attempt
  ), logged AS (
    INSERT INTO task_logs (task_instance_id, try_number, level, message, fields, at)
    SELECT d.id, d.try_number, l.level, l.message, l.fields, l.at
    FROM unnest(p_line_owners, p_levels, p_messages, p_fields, p_ats) WITH ORDINALITY AS l(n, level, message, fields, at, ord)
    JOIN done d ON d.n = l.n
    ORDER BY l.ord
  )
  SELECT coalesce(array_agg(d.id ORDER BY d.n), '{}') INTO v_won FROM done d;

  FOR v_event IN
    SELECT ti.id, ti.try_number FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
    JOIN dag_tasks dt ON dt.dag_id = r.dag_id AND dt.task_id = ti.task_id
    WHERE ti.id = ANY (v_won) AND cardinality(dt.callback_events) > 0 ORDER BY ti.id
  LOOP
    PERFORM trib_task_event(v_event.id, v_event.try_number, 'success', NULL);
  END LOOP;

  IF p_take < 0 THEN RETURN jsonb_build_object('won', to_jsonb(v_won), 'jobs', '[]'::jsonb, 'next', v_next); END IF;
  -- The next children of the slice, each locked (trib_slice_take), then claimed in one statement.
  SELECT s.ids, s.tries, s.first_job INTO v_ids, v_tries, v_first FROM trib_slice_take(v_from, p_take, p_take_queue) AS s;
  IF cardinality(v_ids) > 0 THEN
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.map_index), '[]'::jsonb) INTO v_next FROM trib_claim_batch(v_ids, v_tries, p_worker, p_lease_ms, p_upstream_key) AS c;
  END IF;
  IF jsonb_array_length(v_next) > 0 THEN
    RETURN jsonb_build_object('won', to_jsonb(v_won), 'jobs', '[]'::jsonb, 'next', v_next);
  END IF;
  -- None taken here (another queue, count 0, a run no longer running): the slice goes on through the queue.
  IF v_first IS NOT NULL THEN RETURN jsonb_build_object('won', to_jsonb(v_won), 'jobs', jsonb_build_array(v_first), 'next', v_next); END IF;
  RETURN jsonb_build_object('won', to_jsonb(v_won), 'jobs', '[]'::jsonb, 'next', v_next, 'settle', (
    SELECT p.id FROM task_instances c JOIN task_instances p ON p.run_id = c.run_id AND p.task_id = c.task_id AND p.map_index = -1
    WHERE c.id = p_instances[1]));
END
$$;
