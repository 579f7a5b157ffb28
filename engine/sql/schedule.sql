/*
 * trib_schedule_progress(dag) → (paused, last): whether the DAG is paused, and the newest logical
 * date the scheduler has created a run for — stored on the DAG row, or, for a DAG never passed
 * since that column exists, its newest scheduled run. No row for an unknown DAG.
 */
CREATE OR REPLACE FUNCTION trib_schedule_progress(p_dag text) RETURNS TABLE (paused boolean, last timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT d.paused, coalesce(d.last_scheduled_at,
    (SELECT max(r.logical_date) FROM dag_runs r WHERE r.dag_id = d.dag_id AND r.run_type = 'scheduled'))
  FROM dags d WHERE d.dag_id = p_dag
$$;

/*
 * trib_schedule_advance(dag, logical date): the pass created (or found) runs up to this date;
 * the progress moves forward, never back (a racing scheduler with an older `now` commits after
 * this one). Retention never moves it: deleting old runs cannot re-open their intervals.
 */
CREATE OR REPLACE FUNCTION trib_schedule_advance(p_dag text, p_at timestamptz) RETURNS void LANGUAGE sql AS $$
  UPDATE dags SET last_scheduled_at = GREATEST(last_scheduled_at, p_at) WHERE dag_id = p_dag
$$;
