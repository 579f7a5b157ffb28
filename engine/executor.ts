/**
 * executeTry(deps, job): runs one delivery of one try of one task instance, exactly once in effect.
 * Claim (a new attempt under a lease) → handler inside a transaction → in that same transaction
 * mark success (compare-and-set on the attempt) and advance the run → COMMIT → the handler's
 * after-commit effects (engine/after-commit.ts: file renames, then hooks) → enqueue what became
 * ready. A delivery of a finished try, or of one running under a live lease, or one that loses the
 * race, commits nothing and logs nothing as succeeded. Failures end through attempt-end.ts; a
 * broken or lost database connection never crashes the process: the attempt ends as an
 * infrastructure error, retried by the engine. A COMMIT that failed may have landed: its effects
 * are settled from the database once the failure is recorded, never rolled back on a guess.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { drizzle } from 'drizzle-orm/node-postgres';
import { AfterCommit } from './after-commit.ts';
import { enqueueSafely, recordFailure, writeFailure, type EndingAttempt, type FailureDeps } from './attempt-end.ts';
import { describeError, isInfrastructure, TributaryError } from './errors.ts';
import type { PendingJob } from './jobs.ts';
import type { Leases } from './leases.ts';
import { maskTaskSecrets, taskLogger } from './logger.ts';
import { taskParams } from './secret-params.ts';
import { saveTaskLogs } from './task-store.ts';
import type { TaskJobData } from './queues.ts';
import { LANE_BATCH, LaneBatch, type HeldEnd } from './lane-batch.ts';
import { claimAndBegin, commitTry, endTry, nextInSlice, type BatchEnded } from './transitions.ts';
import { markFenced, rescheduleTry, type Claimed } from './try-sql.ts';
import { isReschedule, type CompiledDag, type CompiledTask, type HandlerOutcome, type Json, type TaskContext } from './types.ts';
import type { JobKind } from './types.ts';

export interface ExecutorDeps extends FailureDeps {
  dags: ReadonlyMap<string, CompiledDag>;
  kinds: ReadonlyMap<string, JobKind>;
  log: Logger;
  workerName: string;
  /** Data roots from the configuration; a task also gets its DAG's dataRoots. */
  dataRoots: readonly string[];
  leases: Leases;
  /** Attempts of one try whose worker may be lost before the try fails with WORKER_LOST. */
  workerLostLimit: number;
  /** Tries one delivery may run back to back by hand-over (trib_end's `take`); 0 = never. */
  handoverMax: number;
  /** True once the process is stopping: no more hand-overs. */
  stopping(): boolean;
}

class LostClaim extends Error {}

export async function executeTry(deps: ExecutorDeps, data: TaskJobData): Promise<'done' | 'noop'> {
  // The claim and the try share one connection and three round trips: claim + BEGIN, end, COMMIT
  // (two when the try was handed over: its claim committed with the end of the one before).
  let client: pg.PoolClient | undefined;
  let claims: Claimed[];
  try {
    client = await deps.pool.connect();
    // A mapped child's delivery claims the next children of its slice with it (its lane), as many
    // as a batch end would take once it ends (engine/lane-batch.ts): one claim for the lane.
    const take = deps.handoverMax > 0 && !deps.stopping() ? Math.min(LANE_BATCH - 1, deps.handoverMax) : 0;
    claims = await claimAndBegin(client, data.taskInstanceId, data.tryNumber, deps.workerName, deps.leases.leaseMs, take);
    deps.outage.ok('database');
  } catch (err) {
    // Nothing was claimed: the job fails in BullMQ and the sweeper re-delivers the try later.
    client?.release(true);
    deps.outage.failed('database', err);
    throw new TributaryError('DATABASE_UNAVAILABLE', `could not claim try ${data.tryNumber} of instance ${data.taskInstanceId}: ${describeError(err)}`, { cause: err });
  }
  const [claimed, ...siblings] = claims;
  if (!claimed) {
    await client.query('ROLLBACK').then(() => client.release(), () => client.release(true));
    return 'noop';
  }
  // A successful try may hand the next one over (same queue, same connection): run it here. Each
  // try's lease entry is added as soon as its claim commits (for a handed-over one, by runAttempt).
  deps.leases.add(claimed.id, claimed.attempt);
  const lane = new LaneBatch(deps);
  lane.adopt(siblings);
  let connection: pg.PoolClient = client;
  let next: Claimed | null = claimed;
  for (let handovers = 0; next; handovers++) {
    const current: Claimed = next;
    let ran: Ran = NOT_ENDED;
    try {
      ran = await runAttempt(deps, current, connection, lane, handovers);
    } finally {
      if (!ran.held) deps.leases.delete(current.id, current.attempt);
    }
    next = ran.next;
    if (next) continue;
    // The try ended without handing over (it failed, or the delivery stops): the ends still held
    // are written (handing the slice on), then the children still claimed run on a new connection.
    const wrote = lane.holding > 0;
    await lane.writeOnPool();
    if (!ran.handedOn && current.map_index >= 0 && !wrote && lane.claimed.length === 0) await handSliceOn(deps, current);
    next = lane.next();
    const fresh = next && (await transactionFor(deps, next, lane));
    if (!fresh) break;
    connection = fresh;
  }
  return 'done';
}

/**
 * A new connection inside a transaction for the claimed children, or null: then none of them runs
 * here, and their leases, no longer renewed, expire and they are delivered again.
 */
async function transactionFor(deps: ExecutorDeps, next: Claimed, lane: LaneBatch): Promise<pg.PoolClient | null> {
  let client: pg.PoolClient | undefined;
  try {
    client = await deps.pool.connect();
    await client.query('BEGIN');
    return client;
  } catch (err) {
    client?.release(true);
    for (const c of [next, ...lane.claimed.splice(0)]) deps.leases.delete(c.id, c.attempt);
    deps.log.warn(`claimed children left to run again once their leases expire: ${describeError(err)}`);
    return null;
  }
}

/**
 * What runAttempt left: the try handed over to run next, whether its end handed a mapped child's
 * slice on, and whether its end is held, not written yet (engine/lane-batch.ts).
 */
interface Ran {
  next: Claimed | null;
  handedOn: boolean;
  held?: boolean;
}

/** A try that did not end through trib_end's success path. */
const NOT_ENDED: Ran = { next: null, handedOn: false };

/** Why a try's signal is aborted once it is over (a reason given: no DOMException and its stack per try). */
const TRY_OVER = new Error('the try is over');

/**
 * A mapped child that did not succeed (a retry, a failure, a sensor's poke, a lost claim) passes
 * its slice on here, after its end committed: the next child of the slice is enqueued
 * (engine/sql/slice.sql). Best effort: if it fails, the sweeper enqueues that child.
 */
async function handSliceOn(deps: ExecutorDeps, child: Claimed): Promise<void> {
  const jobs = await nextInSlice(deps.pool, child.id).catch(() => []);
  await enqueueSafely(deps, jobs);
}

/**
 * A rolling upgrade: this worker's copy of the DAG is another version than the run was created
 * with. The try runs with this worker's copy (the graph and trigger rules stay the registered
 * ones, the task's handler and options are this worker's) — refusing it could leave a run with no
 * worker able to take it once every worker is upgraded — and that is put on the record: the
 * attempt's dag_version (null means the run's own) and a warning line in the task's log. Written
 * on its own (not in the try's transaction): a row lock on the attempt held by a long try would
 * block the takeover that ends a stopped worker's attempt.
 */
async function recordOtherVersion(pool: pg.Pool, claimed: Claimed, dag: CompiledDag, log: Logger): Promise<void> {
  await pool.query('UPDATE task_attempts SET dag_version = $4 WHERE task_instance_id = $1 AND try_number = $2 AND attempt = $3',
    [claimed.id, claimed.try_number, claimed.attempt, dag.version]);
  log.warn({ dag_version: dag.version, run_dag_version: claimed.run_dag_version },
    `this worker runs version ${dag.version} of dag ${dag.id}; run ${claimed.run_id} was created with version ${claimed.run_dag_version} (a rolling upgrade?): the try runs with this worker's copy of the task`);
}

/**
 * Runs one claimed try on `client` (inside the transaction claimAndBegin opened). `next`: the next
 * try when this one handed it over — its lease entry added, `client` still checked out, inside the
 * next try's transaction — else null, with `client` released. `handedOn`: its successful end took
 * care of a mapped child's slice (trib_end).
 */
async function runAttempt(deps: ExecutorDeps, claimed: Claimed, client: pg.PoolClient, lane: LaneBatch, handovers: number): Promise<Ran> {
  const mayHandOver = handovers < deps.handoverMax && !deps.stopping();
  const dag = deps.dags.get(claimed.dag_id);
  const task = dag?.tasks.get(claimed.task_id);
  const kind = task && deps.kinds.get(task.kind);
  const bindings = { dag_id: claimed.dag_id, run_id: claimed.run_id, task_id: claimed.task_id, map_index: claimed.map_index, try: claimed.try_number, attempt: claimed.attempt };
  const { log, lines } = taskLogger(deps.log, bindings);
  const ending: EndingAttempt = { claimed, dag, task, log, lines };
  if (!dag || !task || !kind) {
    const err = new TributaryError('DAG_NOT_FOUND', `task ${claimed.dag_id}.${claimed.task_id} is not in the loaded DAGs`);
    await recordFailure(deps, ending, err, false, await emptyTransactionEnded(client));
    return NOT_ENDED;
  }
  if (claimed.lost_attempts >= deps.workerLostLimit) {
    const err = new TributaryError('WORKER_LOST', `the worker running this try was lost ${claimed.lost_attempts} times (limit ${deps.workerLostLimit})`);
    await recordFailure(deps, ending, err, false, await emptyTransactionEnded(client));
    return NOT_ENDED;
  }
  // A connection lost mid-try emits 'error' on the client: note it (and keep it from crashing the process).
  let broken = false;
  const onError = () => (broken = true);
  client.on('error', onError);
  const controller = new AbortController();
  const dataRoots = [...deps.dataRoots, ...dag.dataRoots];
  const effects = new AfterCommit(client, { taskInstanceId: claimed.id, tryNumber: claimed.try_number, dataRoots });
  let destroy = false;
  let committing = false;
  let jobs: PendingJob[];
  let settle: number | null = null;
  let next: Claimed | null = null;
  let batch: BatchEnded | null = null;
  let rescheduled = false;
  // Whether the handler used its try's transaction (a mapped child that did not may have its end held: lane-batch.ts).
  let usedTransaction = false;
  // The handler's own copy of the upstream results, made when it first reads them: claimed.upstream
  // stays as read, for a sibling of its slice that may share it (endTry).
  let upstream: Claimed['upstream'] | undefined;
  try {
    const ctx: TaskContext = {
      dagId: claimed.dag_id,
      runId: String(claimed.run_id),
      taskId: claimed.task_id,
      mapIndex: claimed.map_index,
      mapItem: claimed.map_item ?? undefined,
      tryNumber: claimed.try_number,
      logicalDate: claimed.logical_date,
      dataInterval: { start: claimed.logical_date, end: claimed.interval_end },
      params: taskParams(dag, claimed.params, log), // env secrets resolved, secret values hidden from the log
      get upstream() {
        return (upstream ??= structuredClone(claimed.upstream));
      },
      set upstream(value) {
        upstream = value;
      },
      dataRoots,
      log,
      resumeState: claimed.resume_state ?? undefined,
      get client() {
        usedTransaction = true;
        return client;
      },
      get db() {
        usedTransaction = true;
        return drizzle(client);
      },
      signal: controller.signal,
      ...effects.context(),
    };
    // A poke of a rescheduling handler (sensor) continues its try: the engine logs its start and
    // first reschedule once; later pokes store only what the handler logs. The start (and the
    // success) goes to the process log only: the task's log derives both from its try and attempt
    // rows (engine/sql/task-log.sql), one row fewer each per try.
    if (claimed.pokes === 0) deps.log.info(bindings, 'try started');
    if (claimed.run_dag_version !== null && claimed.run_dag_version !== dag.version) await recordOtherVersion(deps.pool, claimed, dag, log);
    const heldWritten = lane.whileRunning();
    const outcome = await withTimeout(kind.handler(ctx, task.options), task.timeoutMs, controller, () => (destroy = true)).finally(heldWritten);
    rescheduled = isReschedule(outcome);
    if (isReschedule(outcome)) {
      if (claimed.pokes === 0) log.info({ delay_ms: outcome.reschedule.delayMs }, 'rescheduled');
      jobs = await reschedule(client, task, claimed, outcome);
      await saveTaskLogs(client, claimed.id, claimed.try_number, lines);
    } else {
      // A success: its result (secrets masked) and its log lines, ended in a batch (a mapped child) or alone.
      const end: HeldEnd = { claimed, result: maskTaskSecrets(log, outcome as Json), lines, log, bindings };
      if (lane.takes(claimed, mayHandOver)) {
        const on = () => lane.sliceOn(task.kind, mayHandOver ? deps.handoverMax - handovers : 0);
        if (!usedTransaction && !effects.used) {
          if (lane.hold(end)) {
            client.removeListener('error', onError);
            controller.abort(TRY_OVER);
            return { next: lane.next(), handedOn: true, held: true };
          }
          batch = await lane.write(client, on());
        } else {
          batch = await lane.write(client, on(), end);
          if (!batch.won.has(claimed.id)) throw new LostClaim();
        }
        ({ jobs, settle } = batch);
      } else {
        const ended = await endTry(client, claimed, {
          state: 'success', result: end.result, error: null, code: null, lines: end.lines,
          take: mayHandOver ? { queue: task.kind, worker: deps.workerName, leaseMs: deps.leases.leaseMs } : undefined,
        });
        if (!ended) throw new LostClaim();
        ({ jobs, settle, next } = ended);
      }
    }
    committing = true;
    // A batch end leaves the connection in a new transaction when a child of the slice runs next on it.
    const goesOn = next !== null || (batch !== null && (batch.taken.length > 0 || lane.claimed.length > 0));
    jobs.push(...(await commitTry(client, { settle, begin: goesOn })));
  } catch (err) {
    controller.abort();
    lane.forget(claimed);
    const infra = broken || isInfrastructure(err);
    const keep = keepsWrites(err) && !infra;
    // Before the COMMIT nothing committed (a kept failure commits below): undo the effects now. A
    // failed COMMIT may have landed: decide from the database once the failure is recorded.
    if (!committing && !keep) await effects.rolledBack(log);
    const afterRecorded = () => (committing ? effects.uncertain(deps.pool, log) : undefined);
    if (err instanceof LostClaim) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.removeListener('error', onError);
      client.release();
      log.warn('claim lost to another delivery; nothing committed');
      await markFenced(deps.pool, claimed);
      return NOT_ENDED;
    }
    if (destroy || broken) {
      // A timed-out handler may still be using the connection: destroying it makes Postgres roll back.
      client.release(true);
      await recordFailure(deps, ending, err, infra, null);
      await afterRecorded();
      return NOT_ENDED;
    }
    if (keep) {
      await keepWritesAndFail(deps, ending, client, onError, err, effects);
      return NOT_ENDED;
    }
    const rolled = await client.query('ROLLBACK').then(() => true, () => false);
    client.removeListener('error', onError);
    if (!rolled) client.release(true);
    await recordFailure(deps, ending, err, infra, rolled ? client : null);
    await afterRecorded();
    return NOT_ENDED;
  }
  // The handed-over try's lease started in this try's end: renew it from that COMMIT on, before
  // the hooks and the enqueue (a slow hook or a Redis outage must not let it expire and re-deliver it).
  if (next) deps.leases.add(next.id, next.attempt);
  const held = batch !== null && lane.holds(claimed);
  if (batch) {
    await lane.written(batch);
    next = lane.next();
  }
  client.removeListener('error', onError);
  if (!next) client.release();
  controller.abort(TRY_OVER);
  if (!rescheduled && !held) deps.log.info(bindings, 'try succeeded');
  await effects.committed(deps.pool, log);
  await enqueueSafely(deps, jobs);
  return { next, handedOn: !rescheduled, held };
}

/**
 * A failed check keeps its stored results: the failure is recorded in the same transaction, and
 * committed only when its compare-and-set won — then its after-commit effects run as after any
 * COMMIT (its writes committed), else their rollback side. Anything going wrong here destroys the
 * connection (Postgres rolls back), and the failure is recorded again on a fresh one without the
 * writes; a failed COMMIT is settled from the database as in runAttempt.
 */
async function keepWritesAndFail(
  deps: ExecutorDeps, ending: EndingAttempt, client: pg.PoolClient, onError: () => void, err: unknown, effects: AfterCommit,
): Promise<void> {
  let jobs: PendingJob[] | null = null;
  let committing = false;
  try {
    ending.log.error({ err_code: (err as TributaryError).code, will_retry: false }, describeError(err));
    const written = await writeFailure(client, ending, { kind: 'fail' }, err);
    if (written === null) await client.query('ROLLBACK');
    else {
      committing = true;
      jobs = [...written.jobs, ...(await commitTry(client, { settle: written.settle }))];
    }
  } catch (e) {
    client.release(true);
    if (!committing) await effects.rolledBack(ending.log);
    await recordFailure(deps, ending, e, true, null);
    if (committing) await effects.uncertain(deps.pool, ending.log);
    return;
  }
  client.removeListener('error', onError);
  client.release();
  ending.lines.length = 0;
  await (jobs ? effects.committed(deps.pool, ending.log) : effects.rolledBack(ending.log));
  if (jobs) await enqueueSafely(deps, jobs);
}

/** Ends the empty transaction claimAndBegin opened: the client, or null (destroyed) when that failed. */
async function emptyTransactionEnded(client: pg.PoolClient): Promise<pg.PoolClient | null> {
  try {
    await client.query('ROLLBACK');
    return client;
  } catch {
    client.release(true);
    return null;
  }
}

/** A sensor not yet satisfied: back to 'queued' with its state kept, a delayed job for the next poke. */
async function reschedule(
  client: pg.PoolClient,
  task: CompiledTask,
  claimed: Claimed,
  outcome: { reschedule: { delayMs: number; state?: Json } },
): Promise<PendingJob[]> {
  const { delayMs } = outcome.reschedule;
  const jobId = await rescheduleTry(client, claimed, outcome.reschedule.state ?? null, delayMs);
  if (jobId === null) throw new LostClaim();
  return [{ queue: task.kind, jobId, data: { taskInstanceId: claimed.id, tryNumber: claimed.try_number }, delayMs, priority: task.priority }];
}

function keepsWrites(err: unknown): boolean {
  return err instanceof TributaryError && err.details?.keepWrites === true;
}

async function withTimeout(
  work: Promise<HandlerOutcome>,
  timeoutMs: number,
  controller: AbortController,
  onTimeout: () => void,
): Promise<HandlerOutcome> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined); // a timed-out handler may reject later; nobody waits for it
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      controller.abort();
      reject(new TributaryError('TASK_TIMEOUT', `try exceeded its timeout of ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
