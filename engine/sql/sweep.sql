/*
 * The sweeper's questions (engine/dispatcher.ts asks them every SWEEP_INTERVAL_MS; BullMQ holds
 * the answers it checks against). Nothing here changes a row: the sweep's transitions are the
 * jobs it enqueues again and the runs it advances (trib_advance, trib_start_queued_runs).
 *
 * trib_sweep_due(grace ms) → the tries that should have a job: active (trib_active_states) in a
 * running run, unchanged for `grace ms` (their enqueue may still be in flight), and not running
 * under a live lease (re-delivering those would run a body twice), nor a mapped child waiting its
 * turn in its slice. delay_ms: what is left of a retry's or poke's delay.
 */
CREATE OR REPLACE FUNCTION trib_sweep_due(p_grace_ms float8)
RETURNS TABLE (id bigint, dag_id text, task_id text, job_id text, queue text, try_number int, delay_ms int)
LANGUAGE sql STABLE AS $$
  SELECT ti.id, r.dag_id, ti.task_id, ti.job_id, ti.queue, ti.try_number,
    GREATEST(0, ceil(extract(epoch FROM ti.not_before - now()) * 1000))::int
  FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
  WHERE r.state = 'running' AND ti.state = ANY(trib_active_states())
    AND (ti.state <> 'running' OR ti.lease_until IS NULL OR ti.lease_until < now())
    AND ti.job_id IS NOT NULL AND ti.updated_at < now() - make_interval(secs => p_grace_ms / 1000)
    -- A queued child of a sliced mapped task whose predecessor in the slice is still active waits
    -- for it (engine/sql/slice.sql): that one's end takes it or enqueues it.
    AND NOT (ti.state = 'queued' AND ti.map_index >= trib_map_slices()
      AND EXISTS (SELECT 1 FROM task_instances p WHERE p.run_id = ti.run_id AND p.task_id = ti.task_id
        AND p.map_index = ti.map_index - trib_map_slices() AND p.state = ANY(trib_active_states()))
      AND EXISTS (SELECT 1 FROM dag_tasks dt WHERE dt.dag_id = r.dag_id AND dt.task_id = ti.task_id AND dt.priority IS NULL))
$$;

/*
 * trib_stuck_runs() → running runs with no active task (a process died between a task's end and
 * its run's advance, or a settle failed): the sweeper advances each again.
 */
CREATE OR REPLACE FUNCTION trib_stuck_runs() RETURNS TABLE (id bigint, dag_id text) LANGUAGE sql STABLE AS $$
  SELECT r.id, r.dag_id FROM dag_runs r WHERE r.state = 'running' AND NOT EXISTS (
    SELECT 1 FROM task_instances ti WHERE ti.run_id = r.id AND ti.state = ANY(trib_active_states()))
$$;

/* trib_dags_waiting() → the DAGs with queued runs (trib_start_queued_runs may start them). */
CREATE OR REPLACE FUNCTION trib_dags_waiting() RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT DISTINCT dag_id FROM dag_runs WHERE state = 'queued'
$$;
