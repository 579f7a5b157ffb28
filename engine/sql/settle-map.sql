/*
 * trib_settle_map(parent instance) → {jobs, runState?}. Called after a mapped child's end has
 * committed, in the same message as its COMMIT: when no child of the parent is left to end,
 * advances the run (which closes the parent under the run lock, and moves its downstream). Every
 * child calls it after its own COMMIT, so the last one to commit always sees all the others; two
 * that both see none left serialise on the run lock and the second finds the parent already
 * closed. It never fails (the caller could not tell its error from a failed COMMIT): on an error
 * it advances nothing, with a warning, and the sweeper advances the run later.
 */
CREATE OR REPLACE FUNCTION trib_settle_map(p_parent bigint) RETURNS jsonb LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_run bigint;
  v_task text;
BEGIN
  SELECT run_id, task_id INTO v_run, v_task FROM task_instances WHERE id = p_parent AND state = 'mapped';
  IF NOT FOUND OR EXISTS (
    SELECT 1 FROM task_instances WHERE run_id = v_run AND task_id = v_task AND map_index >= 0
      AND state = ANY(trib_open_states())
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
