/*
 * trib_expand(run, parent instance, task) → jobs: a mapped task whose upstreams allow it to run
 * reads its list from the upstream result (map_over_task, map_over_path) and inserts one queued
 * child per item, returning the jobs of the first child of each slice (engine/sql/slice.sql); a
 * re-run (cleared task) reuses the rows with the next try number, so job ids stay fresh. Not a
 * list → the parent fails (MAP_SOURCE_INVALID); an empty list → it succeeds with []. Returns
 * {jobs, ended} (ended: the parent is over, its downstream may move).
 */
CREATE OR REPLACE FUNCTION trib_expand(p_run bigint, p_parent bigint, p_task text, p_dag text) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  t dag_tasks%ROWTYPE;
  v_list jsonb;
  v_jobs jsonb;
BEGIN
  SELECT * INTO t FROM dag_tasks WHERE dag_id = p_dag AND task_id = p_task;
  SELECT result INTO v_list FROM task_instances WHERE run_id = p_run AND task_id = t.map_over_task AND map_index = -1;
  IF t.map_over_path IS NOT NULL THEN v_list := trib_pick_path(v_list, t.map_over_path); END IF;
  IF v_list IS NULL OR jsonb_typeof(v_list) <> 'array' THEN
    UPDATE task_instances SET state = 'failed', ended_at = clock_timestamp(), updated_at = now(),
      error = 'MAP_SOURCE_INVALID: ' || t.map_over_task || coalesce('.' || t.map_over_path, '') || ' is not a list'
    WHERE id = p_parent;
    RETURN jsonb_build_object('jobs', '[]'::jsonb, 'ended', true);
  END IF;
  IF jsonb_array_length(v_list) = 0 THEN
    UPDATE task_instances SET state = 'success', result = '[]', ended_at = clock_timestamp(), updated_at = now() WHERE id = p_parent;
    RETURN jsonb_build_object('jobs', '[]'::jsonb, 'ended', true);
  END IF;
  DELETE FROM task_instances WHERE run_id = p_run AND task_id = p_task AND map_index >= jsonb_array_length(v_list);
  WITH inserted AS (
    INSERT INTO task_instances AS ti (run_id, task_id, map_index, state, try_number, max_tries, queue, map_item, job_id, queued_at)
    SELECT p_run, p_task, i - 1, 'queued', 1, t.retries + 1, t.queue, item, trib_job_id(p_run, p_task, (i - 1)::int, 1), now()
    FROM jsonb_array_elements(v_list) WITH ORDINALITY AS e(item, i)
    ON CONFLICT (run_id, task_id, map_index) DO UPDATE SET state = 'queued', try_number = ti.try_number + 1,
      max_tries = ti.try_number + t.retries + 1, map_item = EXCLUDED.map_item, result = NULL, error = NULL, error_code = NULL,
      pokes = 0, attempt = 0, lost_attempts = 0, infra_retries = 0, lease_until = NULL, not_before = NULL, ended_at = NULL,
      job_id = trib_job_id(p_run, p_task, ti.map_index, ti.try_number + 1), queued_at = now(), updated_at = now()
    RETURNING ti.id, ti.map_index, ti.try_number, ti.job_id
  )
  -- Only each slice's first child gets a job now (engine/sql/slice.sql); every child of a task with a priority does.
  SELECT coalesce(jsonb_agg(trib_job(t.queue, inserted.job_id, inserted.id, inserted.try_number, t.priority) ORDER BY inserted.map_index)
    FILTER (WHERE inserted.map_index < trib_map_slices() OR t.priority IS NOT NULL), '[]'::jsonb)
  INTO v_jobs FROM inserted;
  UPDATE task_instances SET state = 'mapped', updated_at = now() WHERE id = p_parent;
  RETURN jsonb_build_object('jobs', v_jobs, 'ended', false);
END
$$;
