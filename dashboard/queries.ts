/**
 * Read model shared by the dashboard API and the `trib` CLI: DAG summaries, runs, one run with its
 * task instances and task logs (metrics: dashboard/metrics.ts). Read-only SQL; values always bound as parameters.
 */
import type pg from 'pg';
import { TributaryError } from '../engine/errors.ts';
import type { CompiledDag, Json } from '../engine/types.ts';
import { refusedFiles, runWarnings, type RefusedFile } from './warnings.ts';
import { waitingOf, type WaitStatus } from '../jobs/sensor/wait-state.ts';
import type { PausedBy } from '../engine/runs.ts';
import { runWaitReason } from '../engine/wait-reason.ts';

export interface DagSummary {
  dagId: string;
  description: string;
  schedule: string | null;
  timezone: string | null;
  catchup: boolean;
  paused: boolean;
  /** Why it is paused: 'creation' (new, its schedule off; triggers still run), 'operator' (nothing starts), null. */
  pausedBy: PausedBy;
  /** False until a process (scheduler, standalone, a trigger) registered it in this database. */
  registered: boolean;
  tasks: number;
  file: string;
  lastRun: { id: number; logicalDate: Date; state: string } | null;
}

export async function dagSummaries(pool: pg.Pool, dags: Iterable<CompiledDag>): Promise<DagSummary[]> {
  const list = [...dags].sort((a, b) => a.id.localeCompare(b.id));
  const ids = list.map((d) => d.id);
  const paused = await pool.query<{ dag_id: string; paused_by: PausedBy }>(
    `SELECT dag_id, CASE WHEN paused THEN coalesce(paused_by, 'operator') END AS paused_by FROM dags WHERE dag_id = ANY($1::text[])`,
    [ids],
  );
  const last = await pool.query<{ dag_id: string; id: number; logical_date: Date; state: string }>(
    `SELECT d.dag_id, r.id, r.logical_date, r.state FROM unnest($1::text[]) AS d(dag_id)
     CROSS JOIN LATERAL (SELECT id, logical_date, state FROM dag_runs WHERE dag_id = d.dag_id ORDER BY id DESC LIMIT 1) AS r`,
    [ids],
  );
  const pausedBy = new Map(paused.rows.map((r) => [r.dag_id, r.paused_by]));
  const lastBy = new Map(last.rows.map((r) => [r.dag_id, { id: r.id, logicalDate: r.logical_date, state: r.state }]));
  return list.map((dag) => ({
    dagId: dag.id,
    description: dag.description,
    schedule: dag.schedule?.cron ?? null,
    timezone: dag.schedule?.timezone ?? null,
    catchup: dag.catchup,
    paused: (pausedBy.get(dag.id) ?? null) !== null,
    pausedBy: pausedBy.get(dag.id) ?? null,
    registered: pausedBy.has(dag.id),
    tasks: dag.tasks.size,
    file: dag.file,
    lastRun: lastBy.get(dag.id) ?? null,
  }));
}

export interface RunRow {
  id: number;
  dagId: string;
  logicalDate: Date;
  state: string;
  runType: string;
  /** Who triggered a manual or backfill run (an audit actor); null for the scheduler's. */
  triggeredBy: string | null;
  /** The DAG version the run was created with (engine/dag-version.ts). */
  dagVersion: string | null;
  params: Record<string, Json>;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
}

const RUN_COLUMNS = `id, dag_id AS "dagId", logical_date AS "logicalDate", state, run_type AS "runType", triggered_by AS "triggeredBy", dag_version AS "dagVersion", params,
  created_at AS "createdAt", started_at AS "startedAt", ended_at AS "endedAt"`;

/** The newest runs of a DAG (older than logical date `before`, when given), each with its count of warnings. */
export async function listRuns(pool: pg.Pool, dagId: string, limit: number, before?: Date): Promise<Array<RunRow & { warnings: number }>> {
  const { rows } = await pool.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM dag_runs WHERE dag_id = $1 AND ($3::timestamptz IS NULL OR logical_date < $3)
     ORDER BY logical_date DESC LIMIT $2`,
    [dagId, limit, before ?? null],
  );
  const warnings = await runWarnings(pool, rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, warnings: warnings.filter((w) => w.runId === Number(r.id)).length }));
}

/** DAG_NOT_FOUND unless some process registered `dagId` in this database (its `dags` row). */
export async function requireRegisteredDag(pool: pg.Pool, dagId: string): Promise<void> {
  const { rows } = await pool.query('SELECT 1 FROM dags WHERE dag_id = $1', [dagId]);
  if (rows.length === 0) {
    throw new TributaryError('DAG_NOT_FOUND', `dag "${dagId}" is not registered in this database: no trib process has loaded it here yet (\`trib dags list\` shows the DAG files)`);
  }
}

export async function getRun(pool: pg.Pool, runId: number): Promise<RunRow> {
  const { rows } = await pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM dag_runs WHERE id = $1`, [runId]);
  if (!rows[0]) throw new TributaryError('RUN_NOT_FOUND', `run ${runId} does not exist`);
  return rows[0];
}

export interface TaskRow {
  taskId: string;
  mapIndex: number;
  state: string;
  tryNumber: number;
  maxTries: number;
  queue: string;
  startedAt: Date | null;
  endedAt: Date | null;
  durationMs: number | null;
  result: Json;
  error: string | null;
  errorCode: string | null;
  worker: string | null;
  /** A queued/running sensor between pokes: what it waits for, and that as one line of text. */
  waiting: (WaitStatus & { text: string }) | null;
}

export interface RunDetail extends RunRow {
  /** Each with its warnings (dashboard/warnings.ts). */
  tasks: Array<TaskRow & { warnings: string[] }>;
  /** Warnings of all its tasks. */
  warnings: number;
  /** Files its loads read that had refused rows. */
  refused: RefusedFile[];
  /** While the run is queued: why it has not started (engine/wait-reason.ts); else null. */
  waitReason: string | null;
}

/** One run with its task instances in the DAG's topological order (mapped children after their parent). */
export async function runDetail(pool: pg.Pool, runId: number, dags?: ReadonlyMap<string, CompiledDag>): Promise<RunDetail> {
  const run = await getRun(pool, runId);
  const order = dags?.get(run.dagId)?.order ?? [];
  const selected = await pool.query<Omit<TaskRow, 'waiting'> & { resumeState: Json }>(
    `SELECT task_id AS "taskId", map_index AS "mapIndex", state, try_number AS "tryNumber", max_tries AS "maxTries",
       queue, started_at AS "startedAt", ended_at AS "endedAt", duration_ms AS "durationMs", result, error,
       error_code AS "errorCode", worker,
       CASE WHEN state IN ('queued', 'running') THEN resume_state END AS "resumeState"
     FROM task_instances WHERE run_id = $1 ORDER BY task_id, map_index`,
    [runId],
  );
  const now = new Date();
  const rows: TaskRow[] = selected.rows.map(({ resumeState, ...row }) => ({ ...row, waiting: waitingOf(resumeState, now) }));
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  rows.sort((a, b) => rank(a.taskId) - rank(b.taskId) || a.taskId.localeCompare(b.taskId) || a.mapIndex - b.mapIndex);
  const warnings = await runWarnings(pool, [runId]);
  const tasks = rows.map((t) => ({
    ...t, warnings: warnings.filter((w) => w.taskId === t.taskId && w.mapIndex === t.mapIndex).map((w) => w.message),
  }));
  const waitReason = run.state === 'queued' ? await runWaitReason(pool, runId, now) : null;
  return { ...run, tasks, warnings: warnings.length, refused: await refusedFiles(pool, runId), waitReason };
}

export interface LogLine {
  mapIndex: number;
  tryNumber: number;
  level: string;
  message: string;
  fields: Record<string, Json> | null;
  at: Date;
}

/** Every log line of a task in a run (all map indexes and tries, the engine's derived ones too: engine/sql/task-log.sql), oldest first. */
export async function taskLogs(pool: pg.Pool, runId: number, taskId: string): Promise<LogLine[]> {
  await getRun(pool, runId);
  const instances = await pool.query('SELECT 1 FROM task_instances WHERE run_id = $1 AND task_id = $2 LIMIT 1', [runId, taskId]);
  if (instances.rowCount === 0) throw new TributaryError('TASK_NOT_FOUND', `run ${runId} has no task "${taskId}"`);
  const { rows } = await pool.query<LogLine>(
    `SELECT map_index AS "mapIndex", try_number AS "tryNumber", level, message, fields, at
     FROM trib_task_log($1, $2) ORDER BY at, rank, line_id`,
    [runId, taskId],
  );
  return rows;
}

export interface LatestReport {
  runId: number;
  logicalDate: Date;
  taskId: string;
  fileName: string;
  path: string;
  rowCount: number;
  columns: Json;
  rows: Json;
  rowsTruncated: boolean;
  createdAt: Date;
}

/** The newest report a DAG's task wrote (by logical date, then write time), rows included. */
export async function latestReport(pool: pg.Pool, dagId: string, taskId: string): Promise<LatestReport> {
  const { rows } = await pool.query<LatestReport>(
    `SELECT r.run_id AS "runId", r.logical_date AS "logicalDate", r.task_id AS "taskId", r.file_name AS "fileName",
       r.path, r.row_count AS "rowCount", r.columns, r.rows, r.rows_truncated AS "rowsTruncated", r.created_at AS "createdAt"
     FROM reports r JOIN dag_runs d ON d.id = r.run_id
     WHERE d.dag_id = $1 AND r.task_id = $2 ORDER BY r.logical_date DESC, r.created_at DESC, r.id DESC LIMIT 1`,
    [dagId, taskId],
  );
  if (!rows[0]) throw new TributaryError('REPORT_NOT_FOUND', `dag "${dagId}" has no report from task "${taskId}" yet`);
  return rows[0];
}
