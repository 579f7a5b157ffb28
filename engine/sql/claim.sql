/*
 * trib_claim(instance, try, worker, lease ms) → the try's context in ONE row (task, run, params,
 * the results of its upstream tasks), or no row. Starts a new attempt of a queued try, or takes
 * over a running one whose lease expired (its worker is lost: that attempt is closed as 'lost'
 * and counted in lost_attempts). A try that is finished, or running under a live lease, or whose
 * run is not running, is not claimed. The claim commits before the handler starts: on its own
 * (engine/transitions.ts claimAndBegin), or with the end of the try before it (a hand-over, trib_end).
 */
CREATE OR REPLACE FUNCTION trib_claim(p_instance bigint, p_try int, p_worker text, p_lease_ms float8)
RETURNS TABLE (
  id bigint, run_id bigint, task_id text, map_index int, try_number int, max_tries int, map_item jsonb,
  resume_state jsonb, pokes int, attempt int, lost_attempts int, infra_retries int,
  dag_id text, logical_date timestamptz, interval_end timestamptz, params jsonb, upstream jsonb
) LANGUAGE sql SET plan_cache_mode = force_generic_plan AS $$
  WITH claimed AS (
    UPDATE task_instances ti SET state = 'running', started_at = clock_timestamp(), worker = p_worker, updated_at = now(),
      attempt = ti.attempt + 1, lost_attempts = ti.lost_attempts + (ti.state = 'running')::int,
      lease_until = clock_timestamp() + make_interval(secs => p_lease_ms / 1000), not_before = NULL
    WHERE ti.id = p_instance AND ti.try_number = p_try
      AND EXISTS (SELECT 1 FROM dag_runs r WHERE r.id = ti.run_id AND r.state = 'running')
      AND (ti.state IN ('queued', 'up_for_retry')
        OR (ti.state = 'running' AND (ti.lease_until IS NULL OR ti.lease_until < now())))
    RETURNING ti.id, ti.run_id, ti.task_id, ti.map_index, ti.try_number, ti.max_tries, ti.map_item,
              ti.resume_state, ti.pokes, ti.attempt, ti.lost_attempts, ti.infra_retries
  ), lost AS (
    UPDATE task_attempts a SET state = 'lost', ended_at = clock_timestamp(), error_code = 'WORKER_LOST',
      error = 'worker ' || a.worker || ' was lost (its lease expired while the attempt was running)'
    FROM claimed c WHERE a.task_instance_id = c.id AND a.try_number = c.try_number AND a.state = 'running'
  ), started AS (
    INSERT INTO task_attempts (task_instance_id, try_number, attempt, state, worker, started_at)
    SELECT c.id, c.try_number, c.attempt, 'running', p_worker, clock_timestamp() FROM claimed c
  ), tried AS (
    INSERT INTO task_tries (task_instance_id, try_number, state, worker, started_at)
    SELECT c.id, c.try_number, 'running', p_worker, clock_timestamp() FROM claimed c
    ON CONFLICT (task_instance_id, try_number) DO UPDATE SET state = 'running', worker = p_worker
  )
  SELECT c.id, c.run_id, c.task_id, c.map_index, c.try_number, c.max_tries, c.map_item,
    c.resume_state, c.pokes, c.attempt, c.lost_attempts, c.infra_retries,
    r.dag_id, r.logical_date, r.interval_end, r.params,
    (SELECT coalesce(jsonb_object_agg(up.task_id, (
       SELECT u.result FROM task_instances u WHERE u.run_id = c.run_id AND u.task_id = up.task_id AND u.map_index = -1)), '{}'::jsonb)
     FROM dag_tasks dt, unnest(dt.upstream) AS up(task_id)
     WHERE dt.dag_id = r.dag_id AND dt.task_id = c.task_id)
  FROM claimed c JOIN dag_runs r ON r.id = c.run_id
$$;
