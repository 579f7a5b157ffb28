/**
 * What an operator does to runs: trigger, backfill, clear and mark tasks. Each is one
 * transaction in Postgres followed by enqueueing what became ready.
 */
import type pg from 'pg';
import { withTransaction } from '../db/client.ts';
import { startQueuedRuns, toPendingJobs, type SqlJob } from './transitions.ts';
import type { Dispatcher } from './dispatcher.ts';
import { TributaryError } from './errors.ts';
import { validateParams } from './params.ts';
import { createRun, type RunType } from './runs.ts';
import { intervalFor, logicalDateFor, ticksBetween } from './schedule.ts';
import type { CompiledDag, Json } from './types.ts';

export interface TriggerResult {
  runId: number;
  created: boolean;
  logicalDate: Date;
}

/**
 * Creates the run of `day` (default today, UTC) and starts it when a slot is free. `params` are
 * validated against the DAG's declared params first (ARGUMENT_INVALID naming the param).
 */
export async function triggerRun(
  pool: pg.Pool,
  dispatcher: Dispatcher,
  dag: CompiledDag,
  options: { day?: string; params?: Record<string, Json>; runType?: RunType } = {},
): Promise<TriggerResult> {
  const params = validateParams(dag, options.params);
  const day = options.day ?? new Date().toISOString().slice(0, 10);
  const logicalDate = logicalDateFor(dag.schedule, day);
  const { end } = intervalFor(dag.schedule, logicalDate);
  const { result, jobs } = await withTransaction(pool, async (client) => {
    const created = await createRun(client, dag, {
      logicalDate,
      intervalEnd: end,
      runType: options.runType ?? 'manual',
      params,
    });
    return { result: created, jobs: await startQueuedRuns(client, dag.id) };
  });
  await dispatcher.enqueue(jobs);
  return { ...result, logicalDate };
}

/** No backfill enumerates more ticks than this, even with --yes: split such a range. */
const BACKFILL_CEILING = 100_000;
/** Runs created per transaction by a backfill. */
const BACKFILL_CHUNK = 500;

/**
 * The logical dates a backfill of days from..to creates: the DAG's cron ticks in that range (see
 * `ticksBetween`). More than `maxRuns` of them is refused unless `confirmed`.
 */
export function planBackfill(dag: CompiledDag, from: string, to: string, opts: { maxRuns: number; confirmed: boolean }): Date[] {
  const { dates, truncated } = ticksBetween(dag.schedule, from, to, BACKFILL_CEILING);
  const what = `backfill of "${dag.id}" from ${from} to ${to}`;
  if (truncated) {
    throw new TributaryError('BACKFILL_TOO_LARGE', `${what} is more than ${BACKFILL_CEILING} runs; split the range`);
  }
  if (dates.length > opts.maxRuns && !opts.confirmed) {
    throw new TributaryError(
      'BACKFILL_TOO_LARGE',
      `${what} is ${dates.length} runs, more than BACKFILL_MAX_RUNS=${opts.maxRuns}; pass --yes to create them`,
    );
  }
  return dates;
}

/**
 * Creates the runs of `logicalDates` (oldest first, in transactions of 500) and starts what fits
 * in maxActiveRuns; existing runs are left as they are (unique dag_id + logical_date).
 */
export async function backfill(
  pool: pg.Pool,
  dispatcher: Dispatcher,
  dag: CompiledDag,
  logicalDates: Date[],
  given?: Record<string, Json>,
): Promise<TriggerResult[]> {
  const params = validateParams(dag, given);
  const results: TriggerResult[] = [];
  for (let i = 0; i < logicalDates.length; i += BACKFILL_CHUNK) {
    const jobs = await withTransaction(pool, async (client) => {
      for (const logicalDate of logicalDates.slice(i, i + BACKFILL_CHUNK)) {
        const { end } = intervalFor(dag.schedule, logicalDate);
        const created = await createRun(client, dag, { logicalDate, intervalEnd: end, runType: 'backfill', params });
        results.push({ ...created, logicalDate });
      }
      return startQueuedRuns(client, dag.id);
    });
    await dispatcher.enqueue(jobs);
  }
  return results;
}

/** The task and, with `downstream`, every task after it, in topological order. */
function affectedTasks(dag: CompiledDag, taskId: string, downstream: boolean): string[] {
  if (!dag.tasks.has(taskId)) throw new TributaryError('TASK_NOT_FOUND', `dag "${dag.id}" has no task "${taskId}"`);
  const picked = new Set([taskId]);
  if (downstream) {
    for (const id of dag.order) {
      if (dag.tasks.get(id)?.upstream.some((u) => picked.has(u))) picked.add(id);
    }
  }
  return dag.order.filter((id) => picked.has(id));
}

function runNotFound(runId: number, dagId: string): TributaryError {
  return new TributaryError('RUN_NOT_FOUND', `run ${runId} of dag "${dagId}" does not exist`);
}

/**
 * Clears tasks so they run again (like `airflow tasks clear`): every instance of each (a mapped
 * task's children too) goes back to 'none'; its next try gets a new number and a fresh set of
 * retries; the run goes back to running. A try still running or waiting is interrupted: its try
 * and attempt rows end 'interrupted' and its worker commits nothing.
 */
export async function clearTasks(
  pool: pg.Pool,
  dispatcher: Dispatcher,
  dag: CompiledDag,
  runId: number,
  taskId: string,
  downstream: boolean,
): Promise<string[]> {
  const tasks = affectedTasks(dag, taskId, downstream);
  const retries = tasks.map((id) => dag.tasks.get(id)?.retries ?? 0);
  const cleared = await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ cleared: { found: boolean; jobs?: SqlJob[] } }>(
      'SELECT trib_clear($1, $2, $3, $4) AS cleared', [runId, dag.id, tasks, retries],
    );
    return rows[0].cleared;
  });
  if (!cleared.found) throw runNotFound(runId, dag.id);
  await dispatcher.enqueue(toPendingJobs(cleared.jobs));
  return tasks;
}

export interface MarkResult {
  /** Instances whose state was set (a mapped task without a map index: its parent and every child). */
  marked: number;
  /** Tries that were running or waiting and were ended 'interrupted' (their workers commit nothing). */
  interrupted: number;
}

/**
 * Sets a task's state by hand. With `mapIndex`, only that child of a mapped task (its parent
 * closes from its children as usual once none is left to end); without, every instance of the
 * task, parent and children. A try still running or waiting is interrupted: its try and attempt
 * rows end 'interrupted' and its worker commits nothing. TASK_NOT_FOUND when no instance matches.
 */
export async function markTask(
  pool: pg.Pool,
  dispatcher: Dispatcher,
  dag: CompiledDag,
  runId: number,
  taskId: string,
  state: 'success' | 'failed',
  mapIndex?: number,
): Promise<MarkResult> {
  affectedTasks(dag, taskId, false);
  const marked = await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ marked: { found: boolean; marked?: number; interrupted?: number; jobs?: SqlJob[] } }>(
      'SELECT trib_mark($1, $2, $3, $4, $5) AS marked', [runId, dag.id, taskId, mapIndex ?? null, state],
    );
    const result = rows[0].marked;
    if (!result.found) throw runNotFound(runId, dag.id);
    if (!result.marked) {
      const what = mapIndex === undefined ? `task "${taskId}"` : `map index ${mapIndex} of task "${taskId}"`;
      throw new TributaryError('TASK_NOT_FOUND', `run ${runId} has no ${what}`); // rolls back the run lock, nothing changed
    }
    return result;
  });
  await dispatcher.enqueue(toPendingJobs(marked.jobs));
  return { marked: marked.marked ?? 0, interrupted: marked.interrupted ?? 0 };
}
