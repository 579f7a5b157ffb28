/**
 * How an attempt that did not succeed ends, decided once and written in one transaction:
 * - an infrastructure error (the database or queue failed under it) → the SAME try is queued
 *   again after a backoff, up to `infraRetryMax` times, without using the task's own retries;
 * - a retryable error with tries left → the task's own retry (next try, exponential backoff);
 * - otherwise → failed, and the run advances (downstream tasks follow their trigger rules).
 * It is written on the try's own client when that is still usable (a failure never needs a
 * second connection), else on a fresh one as soon as the database answers again.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { recordRetryEvent } from './callbacks.ts';
import { describeError, isRetryable, TributaryError } from './errors.ts';
import { retryDelay, type PendingJob } from './jobs.ts';
import { maskTaskSecrets, type CollectedLine } from './logger.ts';
import type { OutageLog } from './outage.ts';
import { saveTaskLogs } from './task-store.ts';
import { commitTry, endTry, type Ended } from './transitions.ts';
import { infraRetryTry, markFenced, retryTry, type Claimed } from './try-sql.ts';
import type { CompiledDag, CompiledTask } from './types.ts';

export interface FailureDeps {
  pool: pg.Pool;
  outage: OutageLog;
  enqueue(jobs: PendingJob[]): Promise<void>;
  /** Engine retries of one try after infrastructure errors. */
  infraRetryMax: number;
  /** How long to wait for the database to record an attempt's end before giving it up. */
  recordWaitMs: number;
}

export interface EndingAttempt {
  claimed: Claimed;
  dag?: CompiledDag;
  task?: CompiledTask;
  log: Logger;
  /** The attempt's log lines not stored yet; stored with its end. */
  lines: CollectedLine[];
}

type Decision =
  | { kind: 'infra' | 'retry'; delayMs: number }
  | { kind: 'fail' };

const INFRA_BASE_DELAY_MS = 1000;
const INFRA_MAX_DELAY_MS = 30_000;

function decide(deps: FailureDeps, a: EndingAttempt, err: unknown, infra: boolean): Decision {
  const { claimed: c, task } = a;
  if (!task) return { kind: 'fail' };
  if (infra && c.infra_retries < deps.infraRetryMax) {
    return { kind: 'infra', delayMs: retryDelay(INFRA_BASE_DELAY_MS, INFRA_MAX_DELAY_MS, c.infra_retries + 1) };
  }
  if (isRetryable(err) && c.try_number < c.max_tries) {
    return { kind: 'retry', delayMs: retryDelay(task.retryDelayMs, task.maxRetryDelayMs, c.try_number) };
  }
  return { kind: 'fail' };
}

export const errorCode = (err: unknown): string | null =>
  err instanceof TributaryError ? err.code : ((err as { code?: string } | null)?.code ?? null);

/** What a written end leaves to do after COMMIT: the jobs, and a mapped child's parent to settle. */
export type Written = Pick<Ended, 'jobs' | 'settle'>;

/**
 * Writes the decided end inside the caller's transaction; null when the claim was lost (the
 * caller must then roll back: nothing of this delivery may commit).
 */
export async function writeFailure(client: pg.PoolClient, a: EndingAttempt, decision: Decision, err: unknown): Promise<Written | null> {
  const { claimed: c, dag, task } = a;
  const message = maskTaskSecrets(a.log, describeError(err));
  // A connection lost under the attempt carries no code of its own: an outage is named as one.
  const code = errorCode(err) ?? (decision.kind === 'infra' ? 'DATABASE_UNAVAILABLE' : null);
  if (decision.kind === 'fail') return endTry(client, c, { state: 'failed', result: null, error: message, code, lines: a.lines });
  const failure = { error: message, code, delayMs: decision.delayMs };
  const jobId = decision.kind === 'infra' ? await infraRetryTry(client, c, failure) : await retryTry(client, c, failure);
  if (jobId === null) return null;
  if (decision.kind === 'retry' && dag && task) await recordRetryEvent(client, dag, task, c.id, c.try_number, message);
  await saveTaskLogs(client, c.id, c.try_number, a.lines);
  const tryNumber = decision.kind === 'infra' ? c.try_number : c.try_number + 1;
  const queue = (task as CompiledTask).kind; // decide() retries only a task it knows
  return { jobs: [{ queue, jobId, data: { taskInstanceId: c.id, tryNumber }, delayMs: decision.delayMs, priority: task?.priority }], settle: null };
}

/** Decides, logs once, and writes the end of a failed attempt. Releases `client` (when given). */
export async function recordFailure(
  deps: FailureDeps,
  a: EndingAttempt,
  err: unknown,
  infra: boolean,
  client: pg.PoolClient | null,
): Promise<void> {
  const decision = decide(deps, a, err, infra);
  a.log.error({ err_code: errorCode(err), will_retry: decision.kind !== 'fail', infrastructure: infra }, describeError(err));
  const write = (c: pg.PoolClient) => writeFailure(c, a, decision, err);
  let jobs: PendingJob[] | null | undefined;
  if (client) {
    try {
      jobs = await inTransaction(client, write);
      client.release();
    } catch {
      client.release(true);
    }
  }
  if (jobs === undefined) jobs = await onFreshConnection(deps, write);
  a.lines.length = 0;
  if (jobs) await enqueueSafely(deps, jobs);
  else {
    a.log.warn('claim lost to another delivery (its lease had expired); nothing committed');
    await markFenced(deps.pool, a.claimed);
  }
}

type Write = (c: pg.PoolClient) => Promise<Written | null>;

/** BEGIN, write, COMMIT (settling a mapped child's parent): the jobs to enqueue, or null when the claim was lost. */
async function inTransaction(client: pg.PoolClient, write: Write): Promise<PendingJob[] | null> {
  await client.query('BEGIN');
  try {
    const written = await write(client);
    if (written === null) {
      await client.query('ROLLBACK');
      return null;
    }
    return [...written.jobs, ...(await commitTry(client, { settle: written.settle }))];
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Retries `write` on fresh connections while the database is unreachable, up to recordWaitMs. */
async function onFreshConnection(deps: FailureDeps, write: Write): Promise<PendingJob[] | null> {
  const deadline = Date.now() + deps.recordWaitMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    let client: pg.PoolClient | undefined;
    try {
      client = await deps.pool.connect();
      const value = await inTransaction(client, write);
      client.release();
      deps.outage.ok('database');
      return value;
    } catch (err) {
      client?.release(true);
      deps.outage.failed('database', err);
      if (Date.now() + wait > deadline) {
        // The try stays 'running'; its lease expires and the sweeper re-delivers it.
        throw new TributaryError('DATABASE_UNAVAILABLE', `could not record the end of an attempt: ${describeError(err)}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** Enqueues after COMMIT; a queue outage is repaired by the sweeper (the job ids are in Postgres). */
export async function enqueueSafely(deps: Pick<FailureDeps, 'enqueue' | 'outage'>, jobs: PendingJob[]): Promise<void> {
  if (jobs.length === 0) return;
  try {
    await deps.enqueue(jobs);
    deps.outage.ok('queue');
  } catch (err) {
    deps.outage.failed('queue', err);
  }
}
