/*
 * The engine's transitions (continued from 0010_engine_functions.sql, where the lock order and
 * the helpers are): advancing a run, starting queued runs, claiming and ending a try, settling a
 * mapped task. Each runs with generic plans; every statement is a lookup by key.
 */
/*
 * trib_advance(run, from tasks, locked) → {jobs, runState?}. Inside the caller's transaction, with
 * the run's row lock (taken here unless `locked`): moves every task the change can affect — the
 * `from` tasks' downstream (all tasks when NULL), then theirs, as long as something moved. A task
 * is queued, expanded (mapped), skipped or marked upstream_failed by its trigger rule; a mapped
 * parent whose children are all over closes. When every task is over the run ends (Airflow's leaf
 * rule), its callback event is recorded, and the DAG's next queued run starts (the hand-off).
 * Idempotent: calling it again with nothing changed does nothing.
 */
CREATE FUNCTION trib_advance(p_run bigint, p_from text[] DEFAULT NULL, p_locked boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_run dag_runs%ROWTYPE;
  v_jobs jsonb := '[]';
  v_frontier text[] := p_from;
  v_moved text[];
  v_expanded jsonb;
  v_try int;
  v_job_id text;
  v_outcome text;
  v_ended timestamptz;
  v_event text;
  v_decision text;
  v_candidates text[];
  c record;
BEGIN
  IF p_locked THEN
    SELECT * INTO v_run FROM dag_runs WHERE id = p_run;
  ELSE
    SELECT * INTO v_run FROM dag_runs WHERE id = p_run FOR NO KEY UPDATE;
  END IF;
  IF v_run.state IS DISTINCT FROM 'running' THEN RETURN jsonb_build_object('jobs', v_jobs); END IF;
  LOOP
    -- The tasks this pass looks at: the frontier itself (a mapped parent to close) and its
    -- downstream; every task on the first pass of a full advance. Each is read by its key, so a
    -- 1,000-task DAG costs a hop only the rows around the task that moved.
    IF v_frontier IS NULL THEN
      v_candidates := ARRAY(SELECT task_id FROM dag_tasks WHERE dag_id = v_run.dag_id);
    ELSE
      v_candidates := v_frontier || ARRAY(
        SELECT unnest(f.downstream) FROM unnest(v_frontier) AS fr(task_id)
        CROSS JOIN LATERAL (SELECT downstream FROM dag_tasks WHERE dag_id = v_run.dag_id AND task_id = fr.task_id OFFSET 0) f);
    END IF;
    v_moved := '{}';
    -- OFFSET 0 keeps each lookup a lookup by key, whatever the table statistics say.
    FOR c IN
      SELECT ti.id, ti.state, dt.task_id, dt.trigger_rule, dt.queue, dt.priority, dt.upstream, dt.map_over_task
      FROM (SELECT DISTINCT unnest(v_candidates) AS task_id) cand
      CROSS JOIN LATERAL (
        SELECT i.id, i.state FROM task_instances i WHERE i.run_id = p_run AND i.task_id = cand.task_id AND i.map_index = -1 OFFSET 0
      ) ti
      CROSS JOIN LATERAL (SELECT * FROM dag_tasks d WHERE d.dag_id = v_run.dag_id AND d.task_id = cand.task_id OFFSET 0) dt
      WHERE ti.state IN ('none', 'mapped')
      ORDER BY dt.ord
    LOOP
      IF c.state = 'mapped' THEN
        CONTINUE WHEN EXISTS (
          SELECT 1 FROM task_instances k WHERE k.run_id = p_run AND k.task_id = c.task_id AND k.map_index >= 0
            AND k.state IN ('none', 'queued', 'running', 'up_for_retry'));
        PERFORM trib_close_mapped(c.id);
        v_moved := v_moved || c.task_id;
        CONTINUE;
      END IF;
      -- Upstream states read now, each by its key: changes made earlier in this pass count.
      v_decision := trib_decide(c.trigger_rule, ARRAY(
        SELECT coalesce((SELECT u.state FROM task_instances u WHERE u.run_id = p_run AND u.task_id = up.task_id AND u.map_index = -1), 'none')
        FROM unnest(c.upstream) AS up(task_id)));
      IF v_decision IN ('skip', 'upstream_failed') THEN
        UPDATE task_instances SET state = CASE v_decision WHEN 'skip' THEN 'skipped' ELSE 'upstream_failed' END,
          ended_at = clock_timestamp(), updated_at = now()
        WHERE id = c.id;
        v_moved := v_moved || c.task_id;
      ELSIF v_decision = 'run' THEN
        IF c.map_over_task IS NOT NULL THEN
          v_expanded := trib_expand(p_run, c.id, c.task_id, v_run.dag_id);
          v_jobs := v_jobs || (v_expanded -> 'jobs');
          IF (v_expanded ->> 'ended')::boolean THEN v_moved := v_moved || c.task_id; END IF;
        ELSE
          UPDATE task_instances SET state = 'queued', try_number = try_number + 1, pokes = 0, queued_at = now(), updated_at = now(),
            attempt = 0, lost_attempts = 0, infra_retries = 0, lease_until = NULL, not_before = NULL,
            job_id = 'r' || run_id || '-' || task_id || '-m' || map_index || '-t' || (try_number + 1)
          WHERE id = c.id RETURNING try_number, job_id INTO v_try, v_job_id;
          v_jobs := v_jobs || jsonb_build_array(trib_job(c.queue, v_job_id, c.id, v_try, c.priority));
        END IF;
      END IF; -- 'wait': nothing yet

    END LOOP;
    EXIT WHEN cardinality(v_moved) = 0;
    v_frontier := v_moved;
  END LOOP;

  -- A task queued or expanded just now is not over, so the run is not over either.
  IF jsonb_array_length(v_jobs) > 0 OR EXISTS (
    SELECT 1 FROM task_instances ti
    WHERE ti.run_id = p_run AND ti.map_index = -1 AND ti.state IN ('none', 'queued', 'running', 'up_for_retry', 'mapped')
      AND EXISTS (SELECT 1 FROM dag_tasks dt WHERE dt.dag_id = v_run.dag_id AND dt.task_id = ti.task_id)
  ) THEN
    RETURN jsonb_build_object('jobs', v_jobs);
  END IF;
  -- Without its task graph a run would look over: never end a run of a DAG no process registered.
  IF NOT EXISTS (SELECT 1 FROM dag_tasks WHERE dag_id = v_run.dag_id) THEN
    RAISE EXCEPTION 'dag "%" of run % is not registered (no process has loaded it since the upgrade)', v_run.dag_id, p_run
      USING ERRCODE = 'TRB01';
  END IF;
  v_outcome := trib_run_outcome(ARRAY(
    SELECT ti.state FROM task_instances ti JOIN dag_tasks dt ON dt.dag_id = v_run.dag_id AND dt.task_id = ti.task_id
    WHERE ti.run_id = p_run AND ti.map_index = -1 AND cardinality(dt.downstream) = 0));
  UPDATE dag_runs SET state = v_outcome, ended_at = clock_timestamp() WHERE id = p_run AND state = 'running'
  RETURNING ended_at INTO v_ended;
  -- The event commits with the run's end (an outbox row); its callbacks run after COMMIT.
  v_event := CASE v_outcome WHEN 'success' THEN 'success' ELSE 'failure' END;
  INSERT INTO callback_events (key, dag_id, run_id, task_id, event, payload)
  SELECT 'run:' || p_run || ':' || trib_iso(v_ended) || ':' || v_event, d.dag_id, p_run, '', v_event,
    jsonb_build_object('state', v_outcome, 'error', NULL, 'logicalDate', trib_iso(v_run.logical_date))
  FROM dags d WHERE d.dag_id = v_run.dag_id AND v_event = ANY(d.run_callbacks)
  ON CONFLICT (key) DO NOTHING;
  -- Hand-off: the run's slot is free now, so the next queued run starts in this same transaction.
  v_jobs := v_jobs || trib_start_queued_runs(v_run.dag_id);
  RETURN jsonb_build_object('jobs', v_jobs, 'runState', v_outcome);
END
$$;
--> statement-breakpoint
/*
 * trib_start_queued_runs(dag) → jobs: starts the DAG's queued runs, oldest logical date first,
 * while fewer than its max_active_runs are running, and advances each. A paused (or unknown)
 * DAG starts nothing. Serialised per DAG by the registry row lock. Queued runs another
 * transaction holds are skipped, never waited for: a run ending hands off while holding its own
 * row, so waiting on a run row here, registry lock in hand, could close a deadlock.
 */
CREATE FUNCTION trib_start_queued_runs(p_dag text) RETURNS jsonb LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_dag dags%ROWTYPE;
  v_jobs jsonb := '[]';
  r record;
BEGIN
  SELECT * INTO v_dag FROM dags WHERE dag_id = p_dag FOR UPDATE;
  IF NOT FOUND OR v_dag.paused THEN RETURN v_jobs; END IF;
  FOR r IN
    WITH active AS (SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = p_dag AND state = 'running')
    UPDATE dag_runs SET state = 'running', started_at = clock_timestamp()
    WHERE id IN (
      SELECT q.id FROM dag_runs q WHERE q.dag_id = p_dag AND q.state = 'queued'
      ORDER BY q.logical_date LIMIT GREATEST(0, v_dag.max_active_runs - (SELECT n FROM active)) FOR UPDATE SKIP LOCKED
    ) RETURNING id
  LOOP
    v_jobs := v_jobs || (trib_advance(r.id, NULL, true) -> 'jobs');
  END LOOP;
  RETURN v_jobs;
END
$$;
--> statement-breakpoint
/*
 * trib_claim(instance, try, worker, lease ms) → the try's context in ONE row (task, run, params,
 * the results of its upstream tasks), or no row. Starts a new attempt of a queued try, or takes
 * over a running one whose lease expired (its worker is lost: that attempt is closed as 'lost'
 * and counted in lost_attempts). A try that is finished, or running under a live lease, or whose
 * run is not running, is not claimed. The claim commits before the handler starts: on its own
 * (engine/transitions.ts claimAndBegin), or with the end of the try before it (a hand-over, trib_end).
 */
CREATE FUNCTION trib_claim(p_instance bigint, p_try int, p_worker text, p_lease_ms float8)
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
--> statement-breakpoint
/*
 * trib_end(instance, try, attempt, state 'success'|'failed', result, error, code, log lines…,
 * worker, lease ms, take queue) → {won, jobs, settle?, runState?, next?}. Ends a try for good in the caller's transaction: the
 * compare-and-set on (id, try, attempt, 'running') — a delivery that lost its claim changes
 * nothing and gets won=false (the caller rolls back) —, the try and attempt rows, the try's log
 * lines, the callback event, and the downstream decision. A parent task takes its run lock first
 * and returns the jobs trib_advance made ready. A mapped child takes no shared lock: it returns
 * `settle` (its parent's id) for the caller to pass to trib_settle_map after COMMIT. The end time
 * is clock_timestamp(): now() would be the start of the try's transaction, before the handler.
 * Hand-over (like Temporal's eager activity dispatch): when `take queue` is given and a job it
 * made ready is on that queue (and has no priority), the same transaction claims that try for
 * `worker` (trib_claim) and returns it as `next` instead of in `jobs`: it commits with this end,
 * and the worker runs it without the queue's round trip. If the worker dies, its lease expires and
 * the sweeper enqueues the try's job as for any lost attempt.
 */
CREATE FUNCTION trib_end(
  p_instance bigint, p_try int, p_attempt int, p_state text, p_result jsonb, p_error text, p_code text,
  p_levels text[], p_messages text[], p_fields jsonb[], p_ats timestamptz[],
  p_worker text DEFAULT NULL, p_lease_ms float8 DEFAULT NULL, p_take_queue text DEFAULT NULL
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
  IF t.map_index >= 0 THEN RETURN jsonb_build_object('won', true, 'jobs', '[]'::jsonb, 'settle', t.parent); END IF;
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
--> statement-breakpoint
/*
 * trib_settle_map(parent instance) → {jobs, runState?}. Called after a mapped child's end has
 * committed, in the same message as its COMMIT: when no child of the parent is left to end,
 * advances the run (which closes the parent under the run lock, and moves its downstream). Every
 * child calls it after its own COMMIT, so the last one to commit always sees all the others; two
 * that both see none left serialise on the run lock and the second finds the parent already
 * closed. It never fails (the caller could not tell its error from a failed COMMIT): on an error
 * it advances nothing, with a warning, and the sweeper advances the run later.
 */
CREATE FUNCTION trib_settle_map(p_parent bigint) RETURNS jsonb LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_run bigint;
  v_task text;
BEGIN
  SELECT run_id, task_id INTO v_run, v_task FROM task_instances WHERE id = p_parent AND state = 'mapped';
  IF NOT FOUND OR EXISTS (
    SELECT 1 FROM task_instances WHERE run_id = v_run AND task_id = v_task AND map_index >= 0
      AND state IN ('none', 'queued', 'running', 'up_for_retry')
  ) THEN
    RETURN jsonb_build_object('jobs', '[]'::jsonb);
  END IF;
  BEGIN
    RETURN trib_advance(v_run, ARRAY[v_task], false);
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'trib_settle_map(%): % (%); the sweeper will advance run %', p_parent, SQLERRM, SQLSTATE, v_run;
    RETURN jsonb_build_object('jobs', '[]'::jsonb);
  END;
END
$$;
