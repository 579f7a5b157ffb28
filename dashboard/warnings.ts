/**
 * Warnings of runs and tasks, read from what tasks already stored (nothing extra is written): the
 * `warnings` lines of a task's result (a load past its warn limit, a report built without a
 * check's results), and the checks and reconciliations of the task's current try with outcome
 * `warn`, tasks that failed inside a run that still succeeded (an all_done leaf ran anyway), and
 * files a task wrote that are not in place after its COMMIT (a rename that failed, a lost file:
 * engine/file-effects.ts; gone once the sweeper put the file in place).
 * Also the rows each load of a run refused, per file.
 */
import type pg from 'pg';

export interface TaskWarning {
  runId: number;
  taskId: string;
  mapIndex: number;
  message: string;
}

export interface RefusedFile {
  taskId: string;
  mapIndex: number;
  path: string;
  rowsRead: number;
  rowsRefused: number;
}

/** $1 run ids → one row per warning (run_id, task_id, map_index, message), in task order. */
const WARNINGS_SQL = `
SELECT ti.run_id AS "runId", ti.task_id AS "taskId", ti.map_index AS "mapIndex", w.message
FROM task_instances AS ti
CROSS JOIN LATERAL jsonb_array_elements_text(
  CASE WHEN jsonb_typeof(ti.result -> 'warnings') = 'array' THEN ti.result -> 'warnings' ELSE '[]'::jsonb END) AS w(message)
WHERE ti.run_id = ANY($1::bigint[])
UNION ALL
SELECT ti.run_id, ti.task_id, ti.map_index,
       format('check %s on %s: %s of %s rows failing (%s)', c.check_name, c.table_name, c.rows_failing, c.rows_evaluated, c.severity)
FROM task_instances AS ti
JOIN check_results AS c ON c.run_id = ti.run_id AND c.task_id = ti.task_id AND c.try_number = ti.try_number
WHERE ti.run_id = ANY($1::bigint[]) AND ti.map_index = -1 AND c.outcome = 'warn'
UNION ALL
SELECT ti.run_id, ti.task_id, ti.map_index,
       format('reconciliation %s (%s vs %s): %s mismatched, %s left only, %s right only of %s keys (%s)',
              r.name, r.left_source, r.right_source, r.mismatched, r.left_only, r.right_only, r.keys_total, r.severity)
FROM task_instances AS ti
JOIN reconcile_results AS r ON r.run_id = ti.run_id AND r.task_id = ti.task_id AND r.try_number = ti.try_number
WHERE ti.run_id = ANY($1::bigint[]) AND ti.map_index = -1 AND r.outcome = 'warn'
UNION ALL
SELECT ti.run_id, ti.task_id, ti.map_index,
       format('task %s %s%s, but the run succeeded (its leaves ran anyway)', ti.task_id, ti.state, ' (' || ti.error_code || ')')
FROM task_instances AS ti JOIN dag_runs AS dr ON dr.id = ti.run_id
WHERE ti.run_id = ANY($1::bigint[]) AND ti.map_index = -1 AND dr.state = 'success' AND ti.state IN ('failed', 'upstream_failed')
UNION ALL
SELECT ti.run_id, ti.task_id, ti.map_index, e.error
FROM file_effects AS e JOIN task_instances AS ti ON ti.id = e.task_instance_id
WHERE ti.run_id = ANY($1::bigint[]) AND e.state IN ('pending', 'lost') AND e.error IS NOT NULL
ORDER BY 1, 2, 3`;

/** $1 run id → the files its load tasks read that had refused rows (from the tasks' results). */
const REFUSED_SQL = `
SELECT ti.task_id AS "taskId", ti.map_index AS "mapIndex", f ->> 'path' AS path,
       (f ->> 'rows_read')::bigint AS "rowsRead", (f ->> 'rows_rejected')::bigint AS "rowsRefused"
FROM task_instances AS ti
CROSS JOIN LATERAL jsonb_array_elements(
  CASE WHEN jsonb_typeof(ti.result -> 'files') = 'array' THEN ti.result -> 'files' ELSE '[]'::jsonb END) AS f
WHERE ti.run_id = $1 AND ti.queue = 'load' AND (f ->> 'rows_rejected')::bigint > 0
ORDER BY ti.task_id, ti.map_index, path`;

export async function runWarnings(pool: pg.Pool, runIds: readonly number[]): Promise<TaskWarning[]> {
  if (runIds.length === 0) return [];
  const { rows } = await pool.query<TaskWarning>(WARNINGS_SQL, [runIds]);
  return rows.map((r) => ({ ...r, runId: Number(r.runId) }));
}

export async function refusedFiles(pool: pg.Pool, runId: number): Promise<RefusedFile[]> {
  const { rows } = await pool.query<RefusedFile>(REFUSED_SQL, [runId]);
  return rows.map((r) => ({ ...r, rowsRead: Number(r.rowsRead), rowsRefused: Number(r.rowsRefused) }));
}
