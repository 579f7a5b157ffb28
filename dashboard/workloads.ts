/**
 * Read model of the seed workloads' endpoints, from the rows report tasks keep in `reports`: one
 * key's row of a task's newest report (W2 seller health by seller_id), and every report of a DAG's
 * newest run that has reports (W3's five merchant metrics). Bounded by the reports indexes.
 */
import type pg from 'pg';
import { TributaryError } from '../engine/errors.ts';
import type { Json } from '../engine/types.ts';

export interface ReportRow {
  runId: number;
  logicalDate: Date;
  taskId: string;
  fileName: string;
  createdAt: Date;
  row: Record<string, Json>;
}

/** $1 dag id, $2 task id, $3 key column, $4 key (text) → the task's newest report and the first kept row whose column equals the key. */
const REPORT_ROW_SQL = `
SELECT r.run_id::float8 AS "runId", r.logical_date AS "logicalDate", r.task_id AS "taskId", r.file_name AS "fileName",
  r.created_at AS "createdAt", r.row_count::float8 AS "rowCount", r.rows_truncated AS "rowsTruncated", r.columns ? $3 AS "hasColumn",
  (SELECT e FROM jsonb_array_elements(r.rows) AS e WHERE e ->> $3 = $4 LIMIT 1) AS row
FROM reports r JOIN dag_runs d ON d.id = r.run_id
WHERE d.dag_id = $1 AND r.task_id = $2 ORDER BY r.logical_date DESC, r.created_at DESC, r.id DESC LIMIT 1`;

/** The row of `column` = `key` in the newest report of `dagId`'s `taskId`: REPORT_NOT_FOUND, ARGUMENT_INVALID (no such column) or REPORT_ROW_NOT_FOUND. */
export async function reportRow(pool: pg.Pool, dagId: string, taskId: string, column: string, key: string): Promise<ReportRow> {
  const { rows } = await pool.query<ReportRow & { rowCount: number; rowsTruncated: boolean; hasColumn: boolean; row: Record<string, Json> | null }>(
    REPORT_ROW_SQL, [dagId, taskId, column, key]);
  const found = rows[0];
  if (!found) throw new TributaryError('REPORT_NOT_FOUND', `dag "${dagId}" has no report from task "${taskId}" yet`);
  if (!found.hasColumn) throw new TributaryError('ARGUMENT_INVALID', `report ${found.fileName} of "${dagId}" has no column "${column}"`);
  if (!found.row) {
    const kept = found.rowsTruncated ? ` (only its first rows are kept of ${found.rowCount})` : '';
    throw new TributaryError('REPORT_ROW_NOT_FOUND', `report ${found.fileName} of run ${found.runId} has no row with ${column} ${key}${kept}`);
  }
  const { rowCount: _n, rowsTruncated: _t, hasColumn: _h, ...out } = found;
  return { ...out, row: found.row };
}

export interface RunReports {
  runId: number;
  logicalDate: Date;
  /** Task id → the rows its report kept (all of them unless `rowsTruncated`). */
  reports: Record<string, { fileName: string; rowCount: number; rowsTruncated: boolean; columns: Json; rows: Json }>;
}

/**
 * $1 dag id, $2 report task ids → the reports of the DAG's newest run (by logical date) that has
 * any: runs newest first through dag_runs (dag_id, logical_date), each probed in reports_run_task_path.
 */
const NEWEST_REPORTS_SQL = `
WITH newest AS (
  SELECT d.id, d.logical_date FROM dag_runs d
  WHERE d.dag_id = $1 AND EXISTS (SELECT 1 FROM reports r WHERE r.run_id = d.id AND r.task_id = ANY($2::text[]))
  ORDER BY d.logical_date DESC LIMIT 1)
SELECT n.id::float8 AS "runId", n.logical_date AS "logicalDate", r.task_id AS "taskId", r.file_name AS "fileName",
  r.row_count::float8 AS "rowCount", r.rows_truncated AS "rowsTruncated", r.columns, r.rows
FROM newest n JOIN reports r ON r.run_id = n.id AND r.task_id = ANY($2::text[])
ORDER BY r.task_id, r.path`;

export async function newestReports(pool: pg.Pool, dagId: string, taskIds: string[]): Promise<RunReports> {
  const { rows } = await pool.query<{ runId: number; logicalDate: Date; taskId: string } & RunReports['reports'][string]>(
    NEWEST_REPORTS_SQL, [dagId, taskIds]);
  if (rows.length === 0) throw new TributaryError('REPORT_NOT_FOUND', `dag "${dagId}" has no reports yet`);
  const reports: RunReports['reports'] = {};
  for (const { runId: _r, logicalDate: _d, taskId, ...report } of rows) reports[taskId] ??= report;
  return { runId: rows[0].runId, logicalDate: rows[0].logicalDate, reports };
}
