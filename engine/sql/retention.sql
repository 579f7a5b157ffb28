/*
 * Retention's rule (like `airflow db clean`, engine/retention.ts deletes in batches):
 * trib_expired(run row, cutoff, dag or NULL) → whether a run may go: it ended (success or failed)
 * before the cutoff, and a newer run of its DAG and run type exists — each DAG's latest run of each
 * type is kept, however old (the DAG list shows it; the scheduler's fallback progress reads it).
 * Queued and running runs are never touched.
 */
CREATE OR REPLACE FUNCTION trib_expired(r dag_runs, p_before timestamptz, p_dag text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT r.state IN ('success', 'failed') AND r.ended_at < p_before AND (p_dag IS NULL OR r.dag_id = p_dag)
    AND EXISTS (SELECT 1 FROM dag_runs newer WHERE newer.dag_id = r.dag_id
      AND newer.logical_date > r.logical_date AND newer.run_type = r.run_type)
$$;

/* trib_retention_kept(cutoff, dag or NULL) → how many runs ended before the cutoff and are kept as their DAG's latest of their type. */
CREATE OR REPLACE FUNCTION trib_retention_kept(p_before timestamptz, p_dag text) RETURNS int LANGUAGE sql STABLE AS $$
  SELECT count(*)::int FROM dag_runs r
  WHERE r.state IN ('success', 'failed') AND r.ended_at < p_before AND (p_dag IS NULL OR r.dag_id = p_dag)
    AND NOT trib_expired(r, p_before, p_dag)
$$;

/*
 * trib_delete_expired_runs(run ids, cutoff, dag or NULL) → how many runs were deleted: those of
 * `run ids` still expired when their row lock is taken. Their rows in other tables go first
 * (engine/retention.ts, each batch locking the runs the same way).
 */
CREATE OR REPLACE FUNCTION trib_delete_expired_runs(p_ids bigint[], p_before timestamptz, p_dag text) RETURNS int
LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM dag_runs r WHERE r.id = ANY(p_ids) AND trib_expired(r, p_before, p_dag) RETURNING 1
  )
  SELECT count(*)::int FROM gone
$$;
