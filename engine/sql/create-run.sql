/*
 * trib_create_run(dag, logical date, interval end, run type, params, task ids, max tries, queues)
 * → (run_id, created). Creates the run 'queued' with one task instance 'none' per task; a second
 * call for the same DAG and logical date changes nothing and returns the existing run
 * (created=false): the unique (dag_id, logical_date) makes run creation idempotent.
 */
CREATE OR REPLACE FUNCTION trib_create_run(
  p_dag text, p_logical_date timestamptz, p_interval_end timestamptz, p_run_type text, p_params jsonb,
  p_tasks text[], p_max_tries int[], p_queues text[]
) RETURNS TABLE (run_id bigint, created boolean) LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
  v_run bigint;
BEGIN
  INSERT INTO dag_runs (dag_id, logical_date, interval_end, run_type, params)
  VALUES (p_dag, p_logical_date, p_interval_end, p_run_type, p_params)
  ON CONFLICT (dag_id, logical_date) DO NOTHING RETURNING id INTO v_run;
  IF v_run IS NULL THEN
    RETURN QUERY SELECT r.id, false FROM dag_runs r WHERE r.dag_id = p_dag AND r.logical_date = p_logical_date;
    RETURN;
  END IF;
  INSERT INTO task_instances (run_id, task_id, map_index, state, max_tries, queue)
  SELECT v_run, t.task_id, -1, 'none', t.max_tries, t.queue FROM unnest(p_tasks, p_max_tries, p_queues) AS t(task_id, max_tries, queue);
  RETURN QUERY SELECT v_run, true;
END
$$;
