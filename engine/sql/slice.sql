/*
 * Mapped children run in slices (trib_map_slices() of them per mapped task): child i belongs to
 * slice i % slices, and only each slice's first child gets a queue job at the expand. A child's
 * end hands its slice on: it claims the next one (trib_end's take) or returns its job; a worker
 * that stops otherwise enqueues it (engine/executor.ts); the sweeper enqueues a child whose
 * predecessor in the slice is over (trib_sweep_due). A task with a priority is not sliced.
 *
 * trib_slice_next(child instance) → the job (trib_job) of the next queued child of its slice, its
 * row locked FOR UPDATE (SKIP LOCKED: a child another end is taking is passed over), or NULL.
 */
CREATE OR REPLACE FUNCTION trib_slice_next(p_instance bigint) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  c record;
  s record;
  v_index int;
BEGIN
  SELECT ti.run_id, ti.task_id, ti.map_index, ti.queue INTO c
  FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
  JOIN dag_tasks dt ON dt.dag_id = r.dag_id AND dt.task_id = ti.task_id AND dt.priority IS NULL
  WHERE ti.id = p_instance AND ti.map_index >= 0;
  IF NOT FOUND THEN RETURN NULL; END IF;
  v_index := c.map_index;
  LOOP
    v_index := v_index + trib_map_slices();
    SELECT id, state, not_before INTO s FROM task_instances WHERE run_id = c.run_id AND task_id = c.task_id AND map_index = v_index;
    IF NOT FOUND THEN RETURN NULL; END IF;
    IF s.state = 'queued' AND s.not_before IS NULL THEN
      SELECT id, try_number, job_id INTO s FROM task_instances
      WHERE id = s.id AND state = 'queued' AND not_before IS NULL FOR UPDATE SKIP LOCKED;
      IF FOUND THEN RETURN trib_job(c.queue, s.job_id, s.id, s.try_number, NULL); END IF;
    END IF;
  END LOOP;
END
$$;

/*
 * trib_slice_take(child instance, count, queue) → (ids, tries, first_job): the next `count` queued
 * children of the child's slice, each locked (trib_slice_next), in slice order, while their queue
 * is `queue` (count 0: none). first_job is the job of the next child, taken or not; NULL when the
 * slice has no child left to run.
 */
CREATE OR REPLACE FUNCTION trib_slice_take(p_from bigint, p_count int, p_queue text, OUT ids bigint[], OUT tries int[], OUT first_job jsonb)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_take jsonb;
  v_from bigint := p_from;
BEGIN
  ids := '{}';
  tries := '{}';
  LOOP
    v_take := trib_slice_next(v_from);
    EXIT WHEN v_take IS NULL;
    first_job := coalesce(first_job, v_take);
    EXIT WHEN p_count <= 0 OR p_queue IS DISTINCT FROM v_take ->> 'queue';
    ids := ids || (v_take ->> 'instanceId')::bigint;
    tries := tries || (v_take ->> 'tryNumber')::int;
    v_from := (v_take ->> 'instanceId')::bigint;
    EXIT WHEN cardinality(ids) >= p_count;
  END LOOP;
END
$$;
