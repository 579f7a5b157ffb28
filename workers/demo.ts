/**
 * Demo runs of shipped DAGs, for `trib demo` and `trib standalone`: a DemoPipeline writes a few
 * days of data under <TRIBUTARY_HOME>/demo/<dag>, one run per day is started with the params it
 * returns, and each run that ends is described in a few lines (tasks, rows, reports written).
 * Demo runs and the rows they load live in the demo's own database (`<database>_demo` on the same
 * server, queues under `<QUEUE_PREFIX>_demo`), never beside a user's runs and warehouse tables.
 */
import path from 'node:path';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { getRun, runDetail, type TaskRow } from '../dashboard/queries.ts';
import { quoteIdent } from '../db/identifiers.ts';
import { runMigrations } from '../db/migrate.ts';
import { redactUrl } from '../engine/config.ts';
import { Engine } from '../engine/engine.ts';
import { effectsSettled } from '../engine/file-effects.ts';
import { describeError, TributaryError } from '../engine/errors.ts';
import { clearTasks, triggerRun } from '../engine/operations.ts';
import { daysBetween, formatDay, parseDay, previousTick } from '../engine/schedule.ts';
import type { CompiledDag, Json } from '../engine/types.ts';
import { DEMO_PIPELINES, type DemoPipeline } from '../samples/demo/index.ts';

const ENDED = new Set(['success', 'failed']);

/** The demo of `dagId`, or ARGUMENT_INVALID naming the known ones. */
export function demoPipeline(dagId: string): DemoPipeline {
  const found = DEMO_PIPELINES.find((p) => p.dagId === dagId);
  if (!found) {
    const known = DEMO_PIPELINES.map((p) => p.dagId).join(', ');
    throw new TributaryError('ARGUMENT_INVALID', `unknown demo "${dagId}" (known: ${known})`);
  }
  return found;
}

/** The demo database beside the one `url` names: `<database>_demo` on the same server. */
export function demoDatabaseUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `/${decodeURIComponent(u.pathname.slice(1)) || 'postgres'}_demo`;
  return u.toString();
}

/** Creates the demo database unless it exists (needs the CREATEDB privilege once); returns its URL. */
async function ensureDemoDatabase(url: string): Promise<string> {
  const demoUrl = demoDatabaseUrl(url);
  const name = decodeURIComponent(new URL(demoUrl).pathname.slice(1));
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      // 42P04: another process created it meanwhile.
      await client.query(`CREATE DATABASE ${quoteIdent(name, 'demo database')}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err;
      });
    }
  } catch (err) {
    if (err instanceof TributaryError) throw err;
    throw new TributaryError('DEMO_DATABASE_FAILED', `cannot create the demo database ${name} on ${redactUrl(url)}: ${describeError(err)}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
  return demoUrl;
}

/**
 * An engine like `main` (same DAGs, kinds, backend) on the demo database, migrated and with the
 * DAGs registered; its queues are `<prefix>_demo`, so the main workers never take a demo job.
 */
export async function openDemoEngine(main: Engine): Promise<Engine> {
  const databaseUrl = await ensureDemoDatabase(main.options.databaseUrl);
  const engine = new Engine({ ...main.options, databaseUrl, queuePrefix: `${main.options.queuePrefix}_demo` });
  try {
    await runMigrations(engine.database);
    await engine.register();
  } catch (err) {
    await engine.close();
    throw err;
  }
  return engine;
}

/** The folder a DAG's demo owns. */
export function demoDir(home: string, dagId: string): string {
  return path.resolve(home, 'demo', dagId);
}

/**
 * The `days` demo days ending with the day of the DAG's latest tick (today for an unscheduled
 * DAG), so the newest demo run is the run the scheduler would create now.
 */
export function demoDays(dag: CompiledDag, days: number, now = new Date()): string[] {
  const tick = dag.schedule && previousTick(dag.schedule.cron, dag.schedule.timezone, now);
  const last = tick ? formatDay(tick, dag.schedule!.timezone) : now.toISOString().slice(0, 10);
  const first = new Date(parseDay(last) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  return daysBetween(first, last);
}

/**
 * Starts the run of `day` with `params`. A run of that day that already ended (an earlier demo)
 * is cleared and runs again with the params it was created with; the shipped DAGs are idempotent.
 */
export async function startDemoRun(engine: Engine, dag: CompiledDag, day: string, params: Record<string, Json>): Promise<number> {
  const run = await triggerRun(engine.pool, engine.dispatcher, dag, { date: day, params });
  if (!run.created && ENDED.has((await getRun(engine.pool, run.runId)).state)) {
    for (const root of dag.order.filter((id) => dag.tasks.get(id)!.upstream.length === 0)) {
      await clearTasks(engine.pool, engine.dispatcher, dag, run.runId, root, true);
    }
  }
  return run.runId;
}

/** Polls until the run is success/failed (returned) or `signal` aborts. */
export async function waitForRun(pool: pg.Pool, runId: number, signal?: AbortSignal): Promise<string> {
  for (;;) {
    const { state } = await getRun(pool, runId);
    if (ENDED.has(state)) {
      await effectsSettled(pool, runId); // its last task's files follow that task's COMMIT
      return state;
    }
    await sleep(250, undefined, { signal });
  }
}

/** `files success · load success (3 mapped: 3 success) · report success` */
function taskStates(tasks: TaskRow[]): string {
  return tasks
    .filter((t) => t.mapIndex < 0)
    .map((parent) => {
      const children = tasks.filter((t) => t.taskId === parent.taskId && t.mapIndex >= 0);
      if (children.length === 0) return `${parent.taskId} ${parent.state}`;
      const counts = new Map<string, number>();
      for (const c of children) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
      const mapped = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
      return `${parent.taskId} ${parent.state} (${children.length} mapped: ${mapped})`;
    })
    .join(' · ');
}

/** Sum of a numeric field over the task results that are objects (a mapped parent's list is skipped). */
function total(tasks: TaskRow[], field: string): number {
  let sum = 0;
  for (const { result } of tasks) {
    const value = result !== null && typeof result === 'object' && !Array.isArray(result) ? result[field] : undefined;
    if (typeof value === 'number') sum += value;
  }
  return sum;
}

/** A few lines for people: state, task states, rows loaded/rejected, report files. */
export async function describeRun(engine: Engine, runId: number): Promise<string[]> {
  const run = await runDetail(engine.pool, runId, engine.dags);
  const reports = run.tasks.filter((t) => engine.dags.get(run.dagId)?.tasks.get(t.taskId)?.kind === 'report' && t.mapIndex < 0);
  const lines = [
    `demo run ${run.id} of ${run.dagId} for ${run.logicalDate.toISOString().slice(0, 10)}: ${run.state}`,
    `  tasks    ${taskStates(run.tasks)}`,
    `  rows     ${total(run.tasks, 'rows_loaded')} loaded, ${total(run.tasks, 'rows_rejected')} rejected`,
  ];
  for (const t of reports) {
    const result = t.result as { path?: unknown; rows?: unknown } | null;
    if (typeof result?.path === 'string') lines.push(`  report   ${result.path} (${String(result.rows)} rows)`);
  }
  for (const t of run.tasks.filter((x) => x.error)) lines.push(`  error    ${t.taskId}${t.mapIndex < 0 ? '' : `[${t.mapIndex}]`}: ${t.error}`);
  return lines;
}
