/*
 * trib_mark(run, dag, task, map index or NULL, 'success'|'failed') → {found, marked, interrupted,
 * jobs}. Sets a task's state by hand under the run's row lock (found=false when the run is not
 * this DAG's). With a map index, that child of a mapped task only (its parent closes from its
 * children as usual); without, every instance of the task, parent and children. A try still
 * running or waiting is interrupted (trib_interrupt). Then the run reopens and advances
 * (trib_reopen). marked=0 (nothing else changed) when no instance matches.
 */
CREATE OR REPLACE FUNCTION trib_mark(p_run bigint, p_dag text, p_task text, p_map_index int, p_state text) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_ids bigint[];
  v_interrupted int;
BEGIN
  PERFORM 1 FROM dag_runs WHERE id = p_run AND dag_id = p_dag FOR UPDATE;
  IF NOT FOUND THEN RETURN jsonb_build_object('found', false); END IF;
  WITH marked AS (
    UPDATE task_instances SET state = p_state, ended_at = now(), updated_at = now(),
      error = CASE WHEN p_state = 'failed' THEN 'marked failed by operator' ELSE error END
    WHERE run_id = p_run AND task_id = p_task AND (p_map_index IS NULL OR map_index = p_map_index)
    RETURNING id
  )
  SELECT coalesce(array_agg(id), '{}') INTO v_ids FROM marked;
  IF cardinality(v_ids) = 0 THEN RETURN jsonb_build_object('found', true, 'marked', 0); END IF;
  v_interrupted := trib_interrupt(v_ids, 'interrupted: marked ' || p_state || ' by operator');
  RETURN jsonb_build_object('found', true, 'marked', cardinality(v_ids), 'interrupted', v_interrupted, 'jobs', trib_reopen(p_run));
END
$$;
