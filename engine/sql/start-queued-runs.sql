/*
 * trib_start_queued_runs(dag) → jobs: starts the DAG's queued runs, oldest logical date first,
 * while fewer than its max_active_runs are running, and advances each. A DAG paused by an
 * operator (or unknown) starts nothing; one paused at creation (its schedule not turned on yet)
 * starts its manual and backfill runs only. Serialised per DAG by the registry row lock. Queued
 * runs another transaction holds are skipped, never waited for: a run ending hands off while
 * holding its own row, so waiting on a run row here, registry lock in hand, could close a deadlock.
 */
CREATE OR REPLACE FUNCTION trib_start_queued_runs(p_dag text) RETURNS jsonb LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_dag dags%ROWTYPE;
  v_jobs jsonb := '[]';
  r record;
BEGIN
  SELECT * INTO v_dag FROM dags WHERE dag_id = p_dag FOR UPDATE;
  IF NOT FOUND OR (v_dag.paused AND v_dag.paused_by IS DISTINCT FROM 'creation') THEN RETURN v_jobs; END IF;
  FOR r IN
    WITH active AS (SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = p_dag AND state = 'running')
    UPDATE dag_runs SET state = 'running', started_at = clock_timestamp()
    WHERE id IN (
      SELECT q.id FROM dag_runs q WHERE q.dag_id = p_dag AND q.state = 'queued'
        AND (NOT v_dag.paused OR q.run_type IN ('manual', 'backfill'))
      ORDER BY q.logical_date LIMIT GREATEST(0, v_dag.max_active_runs - (SELECT n FROM active)) FOR UPDATE SKIP LOCKED
    ) RETURNING id
  LOOP
    v_jobs := v_jobs || (trib_advance(r.id, NULL, true) -> 'jobs');
  END LOOP;
  RETURN v_jobs;
END
$$;
