/**
 * Read model of the web UI pages beyond dashboard/queries.ts (the DAG list's: home-queries.ts): the
 * DAG grid page, a run's load files, checks (with their last runs), reconciliations, reports and
 * attempts, tail-first logs (with their fields). Every query is bounded by
 * an index (dag_runs (dag_id, logical_date), task_instances (run_id, …), the state index) and a
 * LIMIT: none reads all runs of a DAG.
 */
import type pg from 'pg';
import { TributaryError } from '../engine/errors.ts';
import type { Json } from '../engine/types.ts';

export interface GridCell { state: string; tryNumber: number; mapped: number; states: Record<string, number> }
export interface GridPage {
  runs: Array<{ id: number; state: string; logicalDate: Date }>;
  /** task id → run id → cell (mapped children folded into one cell with their count). */
  cells: Map<string, Map<number, GridCell>>;
  /** Logical date (ISO) to pass as `before` for the next, older page; null on the last page. */
  nextBefore: string | null;
}

/** Which state a folded cell of mapped children shows: the most urgent one present. */
const URGENCY = ['failed', 'upstream_failed', 'running', 'up_for_retry', 'queued', 'none', 'skipped', 'removed', 'success'];

/** One page of the grid: `limit` runs older than `before` (newest first) × every task instance of them. */
export async function gridPage(pool: pg.Pool, dagId: string, limit: number, before?: Date): Promise<GridPage> {
  const runs = await pool.query<{ id: string; state: string; logicalDate: Date }>(
    `SELECT id, state, logical_date AS "logicalDate" FROM dag_runs
     WHERE dag_id = $1 AND ($2::timestamptz IS NULL OR logical_date < $2) ORDER BY logical_date DESC LIMIT $3`,
    [dagId, before ?? null, limit + 1],
  );
  const page = runs.rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id) }));
  const tasks = await pool.query<{ runId: string; taskId: string; mapIndex: number; state: string; tryNumber: number }>(
    `SELECT run_id AS "runId", task_id AS "taskId", map_index AS "mapIndex", state, try_number AS "tryNumber"
     FROM task_instances WHERE run_id = ANY($1::bigint[])`,
    [page.map((r) => r.id)],
  );
  const cells = new Map<string, Map<number, GridCell>>();
  for (const t of tasks.rows) {
    const byRun = cells.get(t.taskId) ?? cells.set(t.taskId, new Map()).get(t.taskId)!;
    const runId = Number(t.runId);
    const cell = byRun.get(runId) ?? { state: t.state, tryNumber: 0, mapped: 0, states: {} };
    if (t.mapIndex < 0) {
      cell.tryNumber = t.tryNumber;
      if (cell.mapped === 0) cell.state = t.state;
    } else {
      cell.mapped += 1;
      cell.states[t.state] = (cell.states[t.state] ?? 0) + 1;
      cell.state = URGENCY.find((s) => cell.states[s]) ?? t.state;
    }
    byRun.set(runId, cell);
  }
  const more = runs.rows.length > limit;
  return { runs: page, cells, nextBefore: more ? page[page.length - 1].logicalDate.toISOString() : null };
}

export interface LoadFile {
  taskId: string;
  mapIndex: number;
  path: string;
  sha256: string | null;
  rowsRead: number;
  rowsLoaded: number;
  rowsRefused: number;
  rowsDeduplicated: number;
  coerced: number;
  skipped: boolean;
}

/** $1 run id → every file its load tasks report (their results' `files`), in task order. */
const FILES_SQL = `
SELECT ti.task_id AS "taskId", ti.map_index AS "mapIndex", f ->> 'path' AS path, f ->> 'sha256' AS sha256,
  coalesce((f ->> 'rows_read')::bigint, 0) AS "rowsRead", coalesce((f ->> 'rows_loaded')::bigint, 0) AS "rowsLoaded",
  coalesce((f ->> 'rows_rejected')::bigint, 0) AS "rowsRefused", coalesce((f ->> 'rows_deduplicated')::bigint, 0) AS "rowsDeduplicated",
  coalesce((SELECT sum(value::bigint) FROM jsonb_each_text(CASE WHEN jsonb_typeof(f -> 'coercions') = 'object' THEN f -> 'coercions' ELSE '{}'::jsonb END)), 0) AS coerced,
  coalesce((f ->> 'skipped')::boolean, false) AS skipped
FROM task_instances AS ti
CROSS JOIN LATERAL jsonb_array_elements(
  CASE WHEN jsonb_typeof(ti.result -> 'files') = 'array' THEN ti.result -> 'files' ELSE '[]'::jsonb END) AS f
WHERE ti.run_id = $1 AND ti.queue = 'load'
ORDER BY ti.task_id, ti.map_index, path`;

export async function loadFiles(pool: pg.Pool, runId: number): Promise<LoadFile[]> {
  const { rows } = await pool.query<LoadFile>(FILES_SQL, [runId]);
  return rows.map((r) => ({
    ...r, rowsRead: Number(r.rowsRead), rowsLoaded: Number(r.rowsLoaded), rowsRefused: Number(r.rowsRefused),
    rowsDeduplicated: Number(r.rowsDeduplicated), coerced: Number(r.coerced),
  }));
}

export interface CheckRow {
  taskId: string;
  checkName: string;
  checkKind: string;
  tableName: string;
  severity: string;
  outcome: string;
  rowsEvaluated: number;
  rowsFailing: number;
  sampleKeys: Json;
  /** Up to the check's sample limit of failing rows, as stored with the result. */
  sampleRows: Json;
}

/** The checks of each validate task's current try in a run. */
export async function runChecks(pool: pg.Pool, runId: number): Promise<CheckRow[]> {
  const { rows } = await pool.query<CheckRow>(
    `SELECT c.task_id AS "taskId", c.check_name AS "checkName", c.check_kind AS "checkKind", c.table_name AS "tableName",
       c.severity, c.outcome, c.rows_evaluated::float8 AS "rowsEvaluated", c.rows_failing::float8 AS "rowsFailing", c.sample_keys AS "sampleKeys",
       c.sample_rows AS "sampleRows"
     FROM check_results c JOIN task_instances ti
       ON ti.run_id = c.run_id AND ti.task_id = c.task_id AND ti.map_index = -1 AND ti.try_number = c.try_number
     WHERE c.run_id = $1 ORDER BY c.task_id, c.id`,
    [runId],
  );
  return rows;
}

export interface AttemptRow {
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  attempt: number;
  state: string;
  worker: string;
  startedAt: Date;
  endedAt: Date | null;
  errorCode: string | null;
  error: string | null;
  /** When the attempt's worker came back to find its claim taken over (it committed nothing). */
  fencedAt: Date | null;
  /** The DAG version the worker ran it with, when not the run's own (a rolling upgrade); else null. */
  dagVersion: string | null;
}

/** `lost`, or `lost, fenced <time>` when its worker came back after the takeover. */
export function attemptState(a: Pick<AttemptRow, 'state' | 'fencedAt'>, when: (d: Date) => string): string {
  return a.fencedAt ? `${a.state}, fenced ${when(a.fencedAt)}` : a.state;
}

/** Every delivery of every try of a run's tasks (task_attempts), in task order then time. */
export async function runAttempts(pool: pg.Pool, runId: number): Promise<AttemptRow[]> {
  const { rows } = await pool.query<AttemptRow>(
    `SELECT ti.task_id AS "taskId", ti.map_index AS "mapIndex", a.try_number AS "tryNumber", a.attempt, a.state, a.worker,
       a.started_at AS "startedAt", a.ended_at AS "endedAt", a.error_code AS "errorCode", a.error,
       a.fenced_at AS "fencedAt", a.dag_version AS "dagVersion"
     FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
     WHERE ti.run_id = $1 ORDER BY ti.task_id, ti.map_index, a.try_number, a.attempt`,
    [runId],
  );
  return rows;
}

export interface LogPage {
  /** Oldest first within the page; `fields`: what the line was logged with (url, reason, …), or null. */
  lines: Array<{ cursor: string; mapIndex: number; tryNumber: number; level: string; message: string; fields: Record<string, Json> | null; at: Date }>;
  /** Pass as `before` for the older page; null when this page reaches the first line. */
  olderBefore: string | null;
}

/**
 * A line's place in its task's log, `<µs since 1970>-<rank>-<line id>` (the order key of
 * engine/sql/task-log.sql, where the engine's derived lines sit among the stored ones): the
 * `before` cursor of a log page.
 */
export const LOG_CURSOR = /^\d{1,17}-[0-3]-\d{1,18}$/;

/** `value` as a log cursor, or a clear ARGUMENT_INVALID. */
export function logCursor(value: string): string {
  if (!LOG_CURSOR.test(value)) throw new TributaryError('ARGUMENT_INVALID', `log cursor "${value}" must look like 1765100000000000-2-42 (an olderBefore of a log page)`);
  return value;
}

/** The newest `limit` log lines of a task in a run before cursor `before`, optionally containing `search`. */
export async function logTail(
  pool: pg.Pool, runId: number, taskId: string, opts: { limit: number; before?: string; search?: string },
): Promise<LogPage> {
  const [micros, rank, id] = opts.before ? logCursor(opts.before).split('-') : [null, null, null];
  const { rows } = await pool.query<LogPage['lines'][number]>(
    `SELECT (extract(epoch FROM at) * 1000000)::bigint || '-' || rank || '-' || line_id AS cursor,
       map_index AS "mapIndex", try_number AS "tryNumber", level, message, fields, at
     FROM trib_task_log($1, $2)
     WHERE ($3::bigint IS NULL OR (at, rank, line_id) < ('epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4::int, $5::bigint))
       AND ($6::text IS NULL OR strpos(lower(message), lower($6)) > 0)
     ORDER BY at DESC, rank DESC, line_id DESC LIMIT $7`,
    [runId, taskId, micros, rank, id, opts.search || null, opts.limit + 1],
  );
  const page = rows.slice(0, opts.limit);
  return { lines: page.reverse(), olderBefore: rows.length > opts.limit ? page[0].cursor : null };
}

/** How many runs a check's sparkline covers. */
export const SPARK_RUNS = 30;

export interface CheckHistoryPoint { taskId: string; checkName: string; runId: number; rowsFailing: number }

/**
 * $1 run id, $2 run count → the failing count of every check (current try) in the DAG's last $2 runs
 * up to this one, oldest first: the runs through dag_runs (dag_id, logical_date), then per run
 * task_instances (run_id, …) and check_results (run_id, task_id) — never all runs.
 */
export const CHECK_HISTORY_SQL = `
SELECT c.task_id AS "taskId", c.check_name AS "checkName", h.id AS "runId", c.rows_failing::float8 AS "rowsFailing"
FROM dag_runs me
CROSS JOIN LATERAL (SELECT id, logical_date FROM dag_runs r
                    WHERE r.dag_id = me.dag_id AND r.logical_date <= me.logical_date ORDER BY r.logical_date DESC LIMIT $2) AS h
JOIN task_instances ti ON ti.run_id = h.id AND ti.map_index = -1
JOIN check_results c ON c.run_id = h.id AND c.task_id = ti.task_id AND c.try_number = ti.try_number
WHERE me.id = $1
ORDER BY h.logical_date, c.id`;

export async function checkHistory(pool: pg.Pool, runId: number, runs = SPARK_RUNS): Promise<CheckHistoryPoint[]> {
  const { rows } = await pool.query<CheckHistoryPoint & { runId: string }>(CHECK_HISTORY_SQL, [runId, runs]);
  return rows.map((r) => ({ ...r, runId: Number(r.runId) }));
}

export interface ReconcileSample { status: string; key: Json; leftValue: string | null; rightValue: string | null; difference: string | null }
export interface ReconcileRow {
  id: number;
  taskId: string;
  name: string;
  leftSource: string;
  rightSource: string;
  severity: string;
  outcome: string;
  keysTotal: number;
  matched: number;
  mismatched: number;
  leftOnly: number;
  rightOnly: number;
  samples: ReconcileSample[];
}

/** Sample keys shown per reconciliation and status. */
export const RECONCILE_SAMPLES = 5;

/** $1 run id → the reconciliations of each reconcile task's current try, with their counts. */
const RECONCILE_SQL = `
SELECT r.id::float8 AS id, r.task_id AS "taskId", r.name, r.left_source AS "leftSource", r.right_source AS "rightSource",
  r.severity, r.outcome, r.keys_total::float8 AS "keysTotal", r.matched::float8 AS matched, r.mismatched::float8 AS mismatched,
  r.left_only::float8 AS "leftOnly", r.right_only::float8 AS "rightOnly"
FROM reconcile_results r JOIN task_instances ti
  ON ti.run_id = r.run_id AND ti.task_id = r.task_id AND ti.map_index = -1 AND ti.try_number = r.try_number
WHERE r.run_id = $1 ORDER BY r.task_id, r.id`;

/** $1 result ids, $2 per status → the first sampled keys of each result and status (reconcile_mismatches_result). */
const RECONCILE_SAMPLES_SQL = `
SELECT r.id::float8 AS "resultId", m.status, m.key, m.left_value AS "leftValue", m.right_value AS "rightValue", m.difference::text AS difference
FROM unnest($1::bigint[]) AS r(id)
CROSS JOIN unnest(ARRAY['mismatched', 'left_only', 'right_only']) AS s(status)
CROSS JOIN LATERAL (SELECT status, key, left_value, right_value, difference FROM reconcile_mismatches
                    WHERE result_id = r.id AND status = s.status ORDER BY id LIMIT $2) AS m
ORDER BY r.id, s.status`;

export async function runReconciles(pool: pg.Pool, runId: number): Promise<ReconcileRow[]> {
  const { rows } = await pool.query<Omit<ReconcileRow, 'samples'>>(RECONCILE_SQL, [runId]);
  if (rows.length === 0) return [];
  const samples = await pool.query<ReconcileSample & { resultId: number }>(RECONCILE_SAMPLES_SQL, [rows.map((r) => r.id), RECONCILE_SAMPLES]);
  return rows.map((r) => ({ ...r, samples: samples.rows.filter((s) => s.resultId === r.id).map(({ resultId: _id, ...s }) => s) }));
}

export interface RunReport {
  id: number;
  taskId: string;
  fileName: string;
  path: string;
  rowCount: number;
  columns: string[];
  /** The first REPORT_ROWS rows kept by the report task. */
  rows: Array<Record<string, Json>>;
  createdAt: Date;
}

/** Report rows shown on the run page. */
export const REPORT_ROWS = 50;

/** $1 run id, $2 row count → the run's reports with their first $2 kept rows (reports_run_task_path). */
const REPORTS_SQL = `
SELECT id::float8 AS id, task_id AS "taskId", file_name AS "fileName", path, row_count::float8 AS "rowCount", columns,
  coalesce((SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(rows) WITH ORDINALITY AS k(e, n) WHERE n <= $2), '[]'::jsonb) AS rows,
  created_at AS "createdAt"
FROM reports WHERE run_id = $1 ORDER BY task_id, path`;

export async function runReports(pool: pg.Pool, runId: number, limit = REPORT_ROWS): Promise<RunReport[]> {
  return (await pool.query<RunReport>(REPORTS_SQL, [runId, limit])).rows;
}

/** $1 run id, $2 report id → the report file's path, or REPORT_NOT_FOUND. */
export async function reportPath(pool: pg.Pool, runId: number, reportId: number): Promise<{ path: string; fileName: string }> {
  const { rows } = await pool.query<{ path: string; fileName: string }>(
    'SELECT path, file_name AS "fileName" FROM reports WHERE id = $2 AND run_id = $1', [runId, reportId]);
  if (!rows[0]) throw new TributaryError('REPORT_NOT_FOUND', `run ${runId} has no report ${reportId}`);
  return rows[0];
}
