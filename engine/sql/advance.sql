/*
 * trib_advance(run, from tasks, locked) → {jobs, runState?}. Inside the caller's transaction, with
 * the run's row lock (taken here unless `locked`): moves every task the change can affect — the
 * `from` tasks' downstream (all tasks when NULL), then theirs, as long as something moved. A task
 * is queued, expanded (mapped), skipped or marked upstream_failed by its trigger rule; a mapped
 * parent whose children are all over closes. When every task is over the run ends — by Airflow's
 * leaf rule, or, for a DAG whose run_fails_on is 'any_failed', failed as soon as any task failed —
 * its callback event is recorded, and the DAG's next queued run starts (the hand-off).
 * Idempotent: calling it again with nothing changed does nothing.
 */
CREATE OR REPLACE FUNCTION trib_advance(p_run bigint, p_from text[] DEFAULT NULL, p_locked boolean DEFAULT false) RETURNS jsonb
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
            AND k.state = ANY(trib_open_states()));
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
          SELECT n.try_number, n.job_id INTO v_try, v_job_id FROM trib_next_try(c.id, 'queued') n;
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
    WHERE ti.run_id = p_run AND ti.map_index = -1 AND ti.state = ANY(trib_open_states())
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
  IF v_outcome = 'success' AND EXISTS (
    SELECT 1 FROM dags d WHERE d.dag_id = v_run.dag_id AND d.run_fails_on = 'any_failed'
  ) AND EXISTS (
    SELECT 1 FROM task_instances ti WHERE ti.run_id = p_run AND ti.map_index = -1 AND ti.state IN ('failed', 'upstream_failed')
  ) THEN
    v_outcome := 'failed';
  END IF;
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
