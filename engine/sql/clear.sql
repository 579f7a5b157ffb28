/*
 * trib_clear(run, dag, task ids, each task's retries) → {found, jobs}. Like `airflow tasks clear`:
 * takes the run's row lock (found=false when the run is not this DAG's), and every instance of
 * each task — a mapped task's parent and children alike — goes back to 'none' with a fresh set of
 * retries counted from its current try (the next try's number follows it; children wait as
 * 'none' until their parent expands again). A try still running or waiting is interrupted
 * (trib_interrupt): its worker's end finds the row changed and commits nothing. Then the run
 * reopens and advances (trib_reopen).
 */
CREATE OR REPLACE FUNCTION trib_clear(p_run bigint, p_dag text, p_tasks text[], p_retries int[]) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_ids bigint[];
BEGIN
  PERFORM 1 FROM dag_runs WHERE id = p_run AND dag_id = p_dag FOR UPDATE;
  IF NOT FOUND THEN RETURN jsonb_build_object('found', false); END IF;
  WITH cleared AS (
    UPDATE task_instances ti SET state = 'none', max_tries = ti.try_number + c.retries + 1, result = NULL, error = NULL,
      error_code = NULL, resume_state = NULL, pokes = 0, ended_at = NULL, updated_at = now()
    FROM unnest(p_tasks, p_retries) AS c(task_id, retries)
    WHERE ti.run_id = p_run AND ti.task_id = c.task_id
    RETURNING ti.id
  )
  SELECT coalesce(array_agg(id), '{}') INTO v_ids FROM cleared;
  PERFORM trib_interrupt(v_ids, 'interrupted: cleared by operator');
  RETURN jsonb_build_object('found', true, 'jobs', trib_reopen(p_run));
END
$$;
