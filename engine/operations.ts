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
import { redactParams } from './secret-params.ts';
import { createRun, setPaused, type PausedBy, type RunType } from './runs.ts';
import { dueLogicalDates, intervalFor, logicalDateFor, nextTick, ticksBetween } from './schedule.ts';
import type { CompiledDag, Json, RunState } from './types.ts';
import { runWaitReason } from './wait-reason.ts';

/** A run a trigger or a backfill asked for: its id, whether this call created it, its logical date. */
export interface RunCreated {
  runId: number;
  /** False: the run of that logical date existed and is left as it is. */
  created: boolean;
  logicalDate: Date;
}

export interface TriggerResult extends RunCreated {
  /** The run's state once the trigger committed. */
  state: RunState;
  /** When an existing run ended; null while it has not. */
  endedAt: Date | null;
  /** This trigger created the run and started it (a free slot, not paused by an operator). */
  started: boolean;
  /** While the run is queued: why (engine/wait-reason.ts), e.g. `paused: dag x was paused by an operator (…)`. */
  waitReason: string | null;
}

/**
 * Triggers a run with params validated against the DAG's (ARGUMENT_INVALID naming the param).
 * Without `date`: a NEW manual run whose logical date is now — the transaction's clock to the ms,
 * moved on by 1 ms while that instant is taken — and whose data interval ends at that instant (as
 * Airflow 3's manual runs). With `date` (YYYY-MM-DD): the run of that day's first tick; when it
 * exists with the same params nothing changes (`created` false), with other params RUN_EXISTS
 * naming both. A new run starts when its DAG lets it; `waitReason` says why it did not.
 */
export async function triggerRun(
  pool: pg.Pool,
  dispatcher: Dispatcher,
  dag: CompiledDag,
  options: { date?: string; params?: Record<string, Json>; runType?: RunType; triggeredBy?: string } = {},
): Promise<TriggerResult> {
  const params = validateParams(dag, options.params);
  const runType = options.runType ?? 'manual';
  const { made, run, jobs } = await withTransaction(pool, async (client) => {
    const made = options.date === undefined
      ? await createRunNow(client, dag, runType, params, options.triggeredBy)
      : await createRunOfDay(client, dag, options.date, runType, params, options.triggeredBy);
    const jobs = await startQueuedRuns(client, dag.id);
    const { rows } = await client.query<{ state: RunState; ended_at: Date | null }>('SELECT state, ended_at FROM dag_runs WHERE id = $1', [made.runId]);
    return { made, run: rows[0], jobs };
  });
  await dispatcher.enqueue(jobs);
  return {
    ...made,
    state: run.state,
    endedAt: run.ended_at,
    started: made.created && run.state !== 'queued',
    waitReason: run.state === 'queued' ? await runWaitReason(pool, made.runId) : null,
  };
}

/** A new run at the transaction's clock (ms), its data interval ending there too: never an existing one. */
async function createRunNow(client: pg.PoolClient, dag: CompiledDag, runType: RunType, params: Record<string, Json>, triggeredBy?: string): Promise<RunCreated> {
  const { rows } = await client.query<{ now: Date }>("SELECT date_trunc('milliseconds', now()) AS now");
  for (let at = rows[0].now.getTime(); ; at++) {
    const logicalDate = new Date(at);
    const made = await createRun(client, dag, { logicalDate, intervalEnd: logicalDate, runType, params, triggeredBy });
    if (made.created) return { ...made, logicalDate };
  }
}

/** The run of `day`'s first tick: created, or the existing one when its params are these (else RUN_EXISTS). */
async function createRunOfDay(
  client: pg.PoolClient, dag: CompiledDag, day: string, runType: RunType, params: Record<string, Json>, triggeredBy?: string,
): Promise<RunCreated> {
  const logicalDate = logicalDateFor(dag.schedule, day);
  const { end } = intervalFor(dag.schedule, logicalDate);
  const made = await createRun(client, dag, { logicalDate, intervalEnd: end, runType, params, triggeredBy });
  if (made.created) return { ...made, logicalDate };
  const wanted = { ...dag.params, ...params };
  const { rows } = await client.query<{ params: Json; same: boolean }>(
    'SELECT params, params = $2::jsonb AS same FROM dag_runs WHERE id = $1', [made.runId, JSON.stringify(wanted)],
  );
  if (rows[0].same) return { ...made, logicalDate };
  throw new TributaryError(
    'RUN_EXISTS',
    `run ${made.runId} of "${dag.id}" for ${day} already exists with params ${JSON.stringify(redactParams(dag, rows[0].params as Record<string, Json>))}, `
      + `not these: ${JSON.stringify(redactParams(dag, wanted))}. ` +
      `\`trib run clear ${made.runId}\` runs it again with its own params; a trigger without a date makes a new manual run with these`,
  );
}

export interface UnpauseResult {
  /** The pause this ended: 'creation' (the schedule was off), 'operator', or null (it was not paused). */
  was: PausedBy;
  /** The scheduler's next pass of the DAG (its next cron tick) and the runs it will create; null without a schedule. */
  nextPass: { at: Date; runs: number; first: Date | null } | null;
  /** One line for people: what the unpause turned on and how many runs follow. */
  message: string;
}

/** Passes of the scheduler create at most this many runs each (dueLogicalDates' limit). */
const PASS_LIMIT = 1000;

/**
 * Unpauses a DAG: its schedule creates runs from its next tick on, its queued runs start. Says how
 * many runs the scheduler's next pass creates — with catch-up, one per interval missed since the
 * schedule's progress (a year paused: 365), so nobody is surprised by them.
 */
export async function unpauseDag(pool: pg.Pool, dispatcher: Dispatcher, dag: CompiledDag, now = new Date()): Promise<UnpauseResult> {
  const was = await setPaused(pool, dag.id, false);
  await dispatcher.startWaitingRuns();
  const head = `dag ${dag.id} ${was === null ? 'was not paused' : 'unpaused'}`;
  if (!dag.schedule) return { was, nextPass: null, message: `${head}: it has no schedule (runs come from triggers and backfills)` };
  const { cron, timezone } = dag.schedule;
  const { rows } = await pool.query<{ last: Date | null }>('SELECT last FROM trib_schedule_progress($1)', [dag.id]);
  const at = nextTick(cron, timezone, now);
  const due = dueLogicalDates({ cron, timezone, catchup: dag.catchup, startDate: dag.startDate }, rows[0]?.last ?? null, at, PASS_LIMIT);
  const runs = `${due.length === PASS_LIMIT ? `${PASS_LIMIT} runs (and more on later passes)` : `${due.length} run${due.length === 1 ? '' : 's'}`}`;
  const why = dag.catchup && due.length > 1
    ? ` (catchup: one per interval since ${iso(due[0])}; \`trib pause ${dag.id}\` before then stops them)`
    : dag.catchup ? '' : ' (catchup off: only the latest interval)';
  return {
    was,
    nextPass: { at, runs: due.length, first: due[0] ?? null },
    message: `${head}: its schedule ${cron} ${timezone} creates runs from now on; the scheduler's next pass (${iso(at)}) creates ${runs}${why}`,
  };
}

/** `2026-12-07 06:00 UTC` */
const iso = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

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
  triggeredBy?: string,
): Promise<RunCreated[]> {
  const params = validateParams(dag, given);
  const results: RunCreated[] = [];
  for (let i = 0; i < logicalDates.length; i += BACKFILL_CHUNK) {
    const jobs = await withTransaction(pool, async (client) => {
      for (const logicalDate of logicalDates.slice(i, i + BACKFILL_CHUNK)) {
        const { end } = intervalFor(dag.schedule, logicalDate);
        const created = await createRun(client, dag, { logicalDate, intervalEnd: end, runType: 'backfill', params, triggeredBy });
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
  return clearTaskIds(pool, dispatcher, dag, runId, affectedTasks(dag, taskId, downstream));
}

/** Clears every task of the run (Airflow's clear of a DAG run): it runs again whole, with its own params. */
export async function clearRun(pool: pg.Pool, dispatcher: Dispatcher, dag: CompiledDag, runId: number): Promise<string[]> {
  return clearTaskIds(pool, dispatcher, dag, runId, dag.order);
}

async function clearTaskIds(pool: pg.Pool, dispatcher: Dispatcher, dag: CompiledDag, runId: number, tasks: string[]): Promise<string[]> {
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
