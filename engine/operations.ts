/**
 * What an operator does to runs: trigger, backfill, clear and mark tasks. Each is one
 * transaction in Postgres followed by enqueueing what became ready.
 */
import type pg from 'pg';
import { withTransaction } from '../db/client.ts';
import { advanceRun, startQueuedRuns } from './transitions.ts';
import type { Dispatcher } from './dispatcher.ts';
import { TributaryError } from './errors.ts';
import type { PendingJob } from './jobs.ts';
import { CLEAR_SQL, INTERRUPT_SQL, MARK_SQL } from './operator-sql.ts';
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

async function lockRun(client: pg.PoolClient, runId: number, dagId: string): Promise<void> {
  const { rows } = await client.query('SELECT id FROM dag_runs WHERE id = $1 AND dag_id = $2 FOR UPDATE', [runId, dagId]);
  if (rows.length === 0) throw new TributaryError('RUN_NOT_FOUND', `run ${runId} of dag "${dagId}" does not exist`);
}

/** Closes the open tries and attempts of the instances a clear or mark took over (INTERRUPT_SQL). */
async function interrupt(client: pg.PoolClient, instanceIds: string[], reason: string): Promise<number> {
  const { rows } = await client.query<{ tries: number }>(INTERRUPT_SQL, [instanceIds, `interrupted: ${reason} by operator`]);
  return rows[0].tries;
}

/** Moves a run that had ended back to running, then advances it; returns the jobs to enqueue. */
async function reopenAndAdvance(client: pg.PoolClient, runId: number): Promise<PendingJob[]> {
  // A queued run stays queued: it starts when a slot is free (maxActiveRuns).
  await client.query(`UPDATE dag_runs SET state = 'running', ended_at = NULL WHERE id = $1 AND state <> 'queued'`, [runId]);
  return (await advanceRun(client, runId)).jobs;
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
  const jobs = await withTransaction(pool, async (client) => {
    await lockRun(client, runId, dag.id);
    const cleared = await client.query<{ id: string }>(CLEAR_SQL, [runId, tasks, retries]);
    await interrupt(client, cleared.rows.map((r) => r.id), 'cleared');
    return reopenAndAdvance(client, runId);
  });
  await dispatcher.enqueue(jobs);
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
  const { result, jobs } = await withTransaction(pool, async (client) => {
    await lockRun(client, runId, dag.id);
    const marked = await client.query<{ id: string }>(MARK_SQL, [runId, taskId, mapIndex ?? null, state]);
    if (marked.rows.length === 0) {
      const what = mapIndex === undefined ? `task "${taskId}"` : `map index ${mapIndex} of task "${taskId}"`;
      throw new TributaryError('TASK_NOT_FOUND', `run ${runId} has no ${what}`);
    }
    const interrupted = await interrupt(client, marked.rows.map((r) => r.id), `marked ${state}`);
    return { result: { marked: marked.rows.length, interrupted }, jobs: await reopenAndAdvance(client, runId) };
  });
  await dispatcher.enqueue(jobs);
  return result;
}
