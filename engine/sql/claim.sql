/*
 * trib_claim_batch(instances, tries, worker, lease ms, upstream seen) → the context of each try
 * claimed, one row each in the order given (task, run, params, the results of its upstream tasks,
 * the DAG version the run was created with); a try not claimed has no row. Starts a new attempt of
 * a queued try, or takes over a running one whose lease expired. The attempt taken over is closed:
 * 'infra_error' (counted in infra_retries) when it started before the database server did — a
 * restart or a stop ended its connection, its worker may well be alive — else 'lost' (counted in
 * lost_attempts). Its backend, if still there, is terminated, so a stopped worker (SIGSTOP, a
 * frozen VM) keeps no row or table lock from the new attempt. The new attempt records its own
 * backend. A try that is finished, or running under a live lease, or whose run is not running,
 * is not claimed. The claim commits before the handler starts: on its own
 * (engine/transitions.ts claimAndBegin), or with the end of the try before it (a hand-over,
 * trib_end; several children of a mapped task's slice at once, trib_end_batch).
 * `upstream_key` (a mapped child's) names the rows the upstream results were read from (the task's
 * graph row and each upstream instance, by row version): when it equals `upstream seen` (a mapped sibling's, taken by
 * trib_end) `upstream` is NULL — the results are those the caller already holds, not sent again.
 */
CREATE OR REPLACE FUNCTION trib_claim_batch(p_instances bigint[], p_tries int[], p_worker text, p_lease_ms float8, p_upstream_seen text DEFAULT NULL)
RETURNS TABLE (
  id bigint, run_id bigint, task_id text, map_index int, try_number int, max_tries int, map_item jsonb,
  resume_state jsonb, pokes int, attempt int, lost_attempts int, infra_retries int,
  dag_id text, logical_date timestamptz, interval_end timestamptz, params jsonb, upstream jsonb, run_dag_version text,
  upstream_key text
) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY WITH given AS (
    SELECT * FROM unnest(p_instances, p_tries) WITH ORDINALITY AS g(id, try_number, n)
  ), claimed AS (
    UPDATE task_instances ti SET state = 'running', started_at = clock_timestamp(), worker = p_worker, updated_at = now(),
      attempt = ti.attempt + 1,
      lost_attempts = ti.lost_attempts + (ti.state = 'running' AND ti.started_at >= pg_postmaster_start_time())::int,
      infra_retries = ti.infra_retries + (ti.state = 'running' AND ti.started_at < pg_postmaster_start_time())::int,
      lease_until = clock_timestamp() + make_interval(secs => p_lease_ms / 1000), not_before = NULL
    FROM given g
    -- `= ANY`: the primary key finds each try (a join alone is planned as a scan of every unfinished instance).
    WHERE ti.id = ANY (p_instances) AND ti.id = g.id AND ti.try_number = g.try_number
      AND EXISTS (SELECT 1 FROM dag_runs r WHERE r.id = ti.run_id AND r.state = 'running')
      AND (ti.state IN ('queued', 'up_for_retry')
        OR (ti.state = 'running' AND (ti.lease_until IS NULL OR ti.lease_until < now())))
    RETURNING ti.id, ti.run_id, ti.task_id, ti.map_index, ti.try_number, ti.max_tries, ti.map_item,
              ti.resume_state, ti.pokes, ti.attempt, ti.lost_attempts, ti.infra_retries, g.n
  ), taken AS (
    UPDATE task_attempts a SET ended_at = clock_timestamp(),
      state = CASE WHEN a.started_at < pg_postmaster_start_time() THEN 'infra_error' ELSE 'lost' END,
      error_code = CASE WHEN a.started_at < pg_postmaster_start_time() THEN 'DATABASE_UNAVAILABLE' ELSE 'WORKER_LOST' END,
      error = CASE WHEN a.started_at < pg_postmaster_start_time()
        THEN 'the database server restarted under this attempt (worker ' || a.worker || ')'
        ELSE 'worker ' || a.worker || ' was lost (its lease expired while the attempt was running)' END
    FROM claimed c WHERE a.task_instance_id = c.id AND a.try_number = c.try_number AND a.state = 'running'
    RETURNING a.backend_pid, a.started_at
  ), ended AS (
    -- Only the session that ran the attempt (not a later one that reused its pid), never this one.
    SELECT count(pg_terminate_backend(t.backend_pid)) AS n FROM taken t
    WHERE t.backend_pid <> pg_backend_pid()
      AND EXISTS (SELECT 1 FROM pg_stat_activity s WHERE s.pid = t.backend_pid AND s.backend_start <= t.started_at)
  ), started AS (
    INSERT INTO task_attempts (task_instance_id, try_number, attempt, state, worker, started_at, backend_pid)
    SELECT c.id, c.try_number, c.attempt, 'running', p_worker, clock_timestamp(), pg_backend_pid() FROM claimed c
  ), tried AS (
    INSERT INTO task_tries (task_instance_id, try_number, state, worker, started_at)
    SELECT c.id, c.try_number, 'running', p_worker, clock_timestamp() FROM claimed c
    ON CONFLICT (task_instance_id, try_number) DO UPDATE SET state = 'running', worker = p_worker
  )
  SELECT c.id, c.run_id, c.task_id, c.map_index, c.try_number, c.max_tries, c.map_item,
    c.resume_state, c.pokes, c.attempt, c.lost_attempts, c.infra_retries,
    r.dag_id, r.logical_date, r.interval_end, r.params,
    CASE WHEN p_upstream_seen IS NULL OR k.key IS NULL OR k.key <> p_upstream_seen THEN
      (SELECT coalesce(jsonb_object_agg(up.task_id, (
         SELECT u.result FROM task_instances u WHERE u.run_id = c.run_id AND u.task_id = up.task_id AND u.map_index = -1)), '{}'::jsonb)
       FROM dag_tasks dt, unnest(dt.upstream) AS up(task_id)
       WHERE dt.dag_id = r.dag_id AND dt.task_id = c.task_id)
    END,
    r.dag_version, k.key
  FROM claimed c JOIN dag_runs r ON r.id = c.run_id CROSS JOIN ended
  LEFT JOIN LATERAL (
    SELECT dt.xmin::text || ':' || coalesce((
      SELECT string_agg(coalesce(u.id || '.' || u.xmin::text, '-'), ',' ORDER BY up.ord)
      FROM unnest(dt.upstream) WITH ORDINALITY AS up(task_id, ord)
      LEFT JOIN task_instances u ON u.run_id = c.run_id AND u.task_id = up.task_id AND u.map_index = -1), '') AS key
    FROM dag_tasks dt WHERE c.map_index >= 0 AND dt.dag_id = r.dag_id AND dt.task_id = c.task_id -- only a mapped child has siblings
  ) k ON true
  ORDER BY c.n;
END
$$;

/*
 * trib_claim(instance, try, worker, lease ms, upstream seen, take) → trib_claim_batch of one try:
 * its row, or no row. With `take` > 0, a mapped child claimed also claims up to `take` next
 * children of its slice on its queue (trib_slice_take), in the same statement, their rows after
 * its own in slice order (`upstream` NULL where it is the try's): a delivery takes a lane at once.
 */
CREATE OR REPLACE FUNCTION trib_claim(p_instance bigint, p_try int, p_worker text, p_lease_ms float8, p_upstream_seen text DEFAULT NULL, p_take int DEFAULT 0)
RETURNS TABLE (
  id bigint, run_id bigint, task_id text, map_index int, try_number int, max_tries int, map_item jsonb,
  resume_state jsonb, pokes int, attempt int, lost_attempts int, infra_retries int,
  dag_id text, logical_date timestamptz, interval_end timestamptz, params jsonb, upstream jsonb, run_dag_version text,
  upstream_key text
) LANGUAGE plpgsql SET plan_cache_mode TO force_generic_plan AS $$
DECLARE
  v_ids bigint[];
  v_tries int[];
BEGIN
  SELECT * INTO id, run_id, task_id, map_index, try_number, max_tries, map_item, resume_state, pokes, attempt, lost_attempts,
    infra_retries, dag_id, logical_date, interval_end, params, upstream, run_dag_version, upstream_key
  FROM trib_claim_batch(ARRAY[p_instance], ARRAY[p_try], p_worker, p_lease_ms, p_upstream_seen);
  IF NOT FOUND THEN RETURN; END IF;
  RETURN NEXT;
  IF p_take <= 0 OR map_index < 0 THEN RETURN; END IF;
  SELECT s.ids, s.tries INTO v_ids, v_tries
  FROM trib_slice_take(p_instance, p_take, (SELECT ti.queue FROM task_instances ti WHERE ti.id = p_instance)) AS s;
  IF cardinality(v_ids) > 0 THEN
    RETURN QUERY SELECT * FROM trib_claim_batch(v_ids, v_tries, p_worker, p_lease_ms, upstream_key);
  END IF;
END
$$;
