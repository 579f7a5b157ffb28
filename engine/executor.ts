/**
 * executeTry(deps, job): runs one try of one task instance, exactly once in effect.
 * Claim (compare-and-set to 'running') → handler inside a transaction → in that same transaction
 * mark success (compare-and-set) and advance the run → COMMIT → enqueue what became ready.
 * A delivery of a finished try, or one that loses the race, commits nothing.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { drizzle } from 'drizzle-orm/node-postgres';
import { advanceRun, childFinished } from './advance.ts';
import { describeError, isRetryable, TributaryError } from './errors.ts';
import { jobIdFor, retryDelay, type PendingJob } from './jobs.ts';
import { taskLogger, type CollectedLine } from './logger.ts';
import { loadUpstreamResults, saveTaskLogs } from './task-store.ts';
import type { TaskJobData } from './queues.ts';
import {
  isReschedule, type CompiledDag, type CompiledTask, type HandlerOutcome, type JobKind, type Json, type TaskContext,
} from './types.ts';

export interface ExecutorDeps {
  pool: pg.Pool;
  dags: ReadonlyMap<string, CompiledDag>;
  kinds: ReadonlyMap<string, JobKind>;
  log: Logger;
  workerName: string;
  enqueue(jobs: PendingJob[]): Promise<void>;
}

interface Claimed {
  id: number;
  run_id: number;
  task_id: string;
  map_index: number;
  try_number: number;
  max_tries: number;
  map_item: Json;
  resume_state: Json;
  pokes: number;
  dag_id: string;
  logical_date: Date;
  interval_end: Date;
  params: Record<string, Json>;
}

/** Marks the try running (again, after a crash) unless it already finished; records the try. */
const CLAIM_SQL = `
WITH claimed AS (
  UPDATE task_instances ti SET state = 'running', started_at = now(), worker = $3, updated_at = now()
  FROM dag_runs r
  WHERE ti.id = $1 AND ti.try_number = $2 AND ti.state IN ('queued', 'running', 'up_for_retry')
    AND r.id = ti.run_id AND r.state = 'running'
  RETURNING ti.id, ti.run_id, ti.task_id, ti.map_index, ti.try_number, ti.max_tries, ti.map_item,
            ti.resume_state, ti.pokes, r.dag_id, r.logical_date, r.interval_end, r.params
), tried AS (
  INSERT INTO task_tries (task_instance_id, try_number, state, worker, started_at)
  SELECT id, try_number, 'running', $3, now() FROM claimed
  ON CONFLICT (task_instance_id, try_number) DO UPDATE SET state = 'running', worker = $3, started_at = now()
)
SELECT * FROM claimed`;

/**
 * Ends the current try; only the delivery that still holds it ('running', same try) wins. The end
 * time is clock_timestamp(): now() would be the start of the try's transaction, before the handler.
 */
const FINISH_SQL = `
WITH done AS (
  UPDATE task_instances SET state = $3, result = $4::jsonb, error = $5, error_code = $6, ended_at = clock_timestamp(),
    duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::int, resume_state = NULL, updated_at = now()
  WHERE id = $1 AND try_number = $2 AND state = 'running'
  RETURNING id, try_number, duration_ms
), tried AS (
  UPDATE task_tries t SET state = $3, ended_at = clock_timestamp(), duration_ms = done.duration_ms, error = $5, error_code = $6
  FROM done WHERE t.task_instance_id = done.id AND t.try_number = done.try_number
)
SELECT id FROM done`;

/**
 * A try's success in one round trip: FINISH for state 'success', the try's log lines, and — for
 * a parent task ($8) — the run's row lock that advanceRun needs (run_state NULL for a mapped child).
 */
const SUCCEED_SQL = `
WITH done AS (
  UPDATE task_instances SET state = 'success', result = $3::jsonb, error = NULL, error_code = NULL, ended_at = clock_timestamp(),
    duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::int, resume_state = NULL, updated_at = now()
  WHERE id = $1 AND try_number = $2 AND state = 'running'
  RETURNING id, run_id, try_number, duration_ms
), tried AS (
  UPDATE task_tries t SET state = 'success', ended_at = clock_timestamp(), duration_ms = done.duration_ms, error = NULL, error_code = NULL
  FROM done WHERE t.task_instance_id = done.id AND t.try_number = done.try_number
), logs AS (
  INSERT INTO task_logs (task_instance_id, try_number, level, message, fields, at)
  SELECT done.id, done.try_number, l.level, l.message, l.fields, l.at
  FROM done, unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) AS l(level, message, fields, at)
), run AS (
  SELECT r.state FROM dag_runs r JOIN done ON r.id = done.run_id WHERE $8::boolean FOR UPDATE OF r
)
SELECT done.id, (SELECT state FROM run) AS run_state FROM done`;

class LostClaim extends Error {}

export async function executeTry(deps: ExecutorDeps, data: TaskJobData): Promise<'done' | 'noop'> {
  const claim = await deps.pool.query<Claimed>({ name: 'trib_claim', text: CLAIM_SQL, values: [data.taskInstanceId, data.tryNumber, deps.workerName] });
  const claimed = claim.rows[0];
  if (!claimed) return 'noop';
  const dag = deps.dags.get(claimed.dag_id);
  const task = dag?.tasks.get(claimed.task_id);
  const kind = task && deps.kinds.get(task.kind);
  const bindings = { dag_id: claimed.dag_id, run_id: claimed.run_id, task_id: claimed.task_id, map_index: claimed.map_index, try: claimed.try_number };
  const { log, lines } = taskLogger(deps.log, bindings);
  if (!dag || !task || !kind) {
    const err = new TributaryError('DAG_NOT_FOUND', `task ${claimed.dag_id}.${claimed.task_id} is not in the loaded DAGs`);
    await finishWithFailure(deps, dag, task, claimed, err, log);
    return 'done';
  }

  const client = await deps.pool.connect();
  const controller = new AbortController();
  let destroy = false;
  try {
    await client.query('BEGIN');
    const ctx: TaskContext = {
      dagId: claimed.dag_id,
      runId: String(claimed.run_id),
      taskId: claimed.task_id,
      mapIndex: claimed.map_index,
      mapItem: claimed.map_item ?? undefined,
      tryNumber: claimed.try_number,
      logicalDate: claimed.logical_date,
      dataInterval: { start: claimed.logical_date, end: claimed.interval_end },
      params: claimed.params,
      upstream: await loadUpstreamResults(client, claimed.run_id, task.upstream),
      log,
      resumeState: claimed.resume_state ?? undefined,
      client,
      db: drizzle(client),
      signal: controller.signal,
    };
    log.info('try started');
    const outcome = await withTimeout(kind.handler(ctx, task.options), task.timeoutMs, controller, () => (destroy = true));
    // The log lines ride in the try's transaction (one commit per hop, not two); they stay in
    // `lines` for the finally block until the COMMIT has succeeded.
    let jobs: PendingJob[];
    if (isReschedule(outcome)) {
      jobs = await reschedule(client, task, claimed, outcome);
      log.info({ delay_ms: outcome.reschedule.delayMs }, 'rescheduled');
      await saveTaskLogs(client, claimed.id, claimed.try_number, lines);
    } else {
      log.info('try succeeded');
      jobs = await succeed(client, dag, claimed, outcome as Json, lines);
    }
    await client.query('COMMIT');
    lines.length = 0;
    await deps.enqueue(jobs);
  } catch (err) {
    if (err instanceof LostClaim || destroy) {
      if (!destroy) await client.query('ROLLBACK').catch(() => undefined);
    } else if (keepsWrites(err)) {
      // A failed check keeps its stored results: record the failure in the same transaction.
      const jobs = await recordFailure(client, dag, task, claimed, err, log);
      await client.query('COMMIT');
      await deps.enqueue(jobs);
      return 'done';
    } else {
      await client.query('ROLLBACK').catch(() => (destroy = true));
    }
    if (!(err instanceof LostClaim)) await finishWithFailure(deps, dag, task, claimed, err, log);
    return 'done';
  } finally {
    // A timed-out handler may still be using the connection: destroying it makes Postgres roll back.
    client.release(destroy ? new Error('try timed out') : undefined);
    controller.abort();
    await saveTaskLogs(deps.pool, claimed.id, claimed.try_number, lines).catch(() => undefined);
  }
  return 'done';
}

async function succeed(client: pg.PoolClient, dag: CompiledDag, claimed: Claimed, result: Json, lines: CollectedLine[]): Promise<PendingJob[]> {
  const parent = claimed.map_index < 0;
  const done = await client.query<{ id: number; run_state: string | null }>({
    name: 'trib_succeed',
    text: SUCCEED_SQL,
    values: [
      claimed.id, claimed.try_number, JSON.stringify(result ?? null),
      lines.map((l) => l.level), lines.map((l) => l.message), lines.map((l) => JSON.stringify(l.fields)), lines.map((l) => l.at),
      parent,
    ],
  });
  if (done.rowCount === 0) throw new LostClaim();
  const advanced = parent
    ? await advanceRun(client, dag, claimed.run_id, done.rows[0].run_state ?? 'gone')
    : await childFinished(client, dag, claimed.run_id, claimed.task_id);
  return advanced.jobs;
}

function afterTerminal(client: pg.PoolClient, dag: CompiledDag, claimed: Claimed) {
  return claimed.map_index >= 0
    ? childFinished(client, dag, claimed.run_id, claimed.task_id)
    : advanceRun(client, dag, claimed.run_id);
}

/** A sensor not yet satisfied: back to 'queued' with its state kept, a delayed job for the next poke. */
async function reschedule(
  client: pg.PoolClient,
  task: CompiledTask,
  claimed: Claimed,
  outcome: { reschedule: { delayMs: number; state?: Json } },
): Promise<PendingJob[]> {
  const jobId = jobIdFor(claimed.run_id, claimed.task_id, claimed.map_index, claimed.try_number, claimed.pokes + 1);
  const updated = await client.query(
    `UPDATE task_instances SET state = 'queued', pokes = pokes + 1, job_id = $3, resume_state = $4::jsonb, updated_at = now()
     WHERE id = $1 AND try_number = $2 AND state = 'running'`,
    [claimed.id, claimed.try_number, jobId, JSON.stringify(outcome.reschedule.state ?? null)],
  );
  if (updated.rowCount === 0) throw new LostClaim();
  return [{ queue: task.kind, jobId, data: { taskInstanceId: claimed.id, tryNumber: claimed.try_number }, delayMs: outcome.reschedule.delayMs, priority: task.priority }];
}

/** Retry with backoff when the error is retryable and tries remain; else fail and advance the run. */
async function recordFailure(
  client: pg.PoolClient,
  dag: CompiledDag | undefined,
  task: CompiledTask | undefined,
  claimed: Claimed,
  err: unknown,
  log: Logger,
): Promise<PendingJob[]> {
  const message = describeError(err);
  const code = err instanceof TributaryError ? err.code : ((err as { code?: string })?.code ?? null);
  const retry = task !== undefined && isRetryable(err) && claimed.try_number < claimed.max_tries;
  log.error({ err_code: code, will_retry: retry }, message);
  if (retry) {
    const next = claimed.try_number + 1;
    const jobId = jobIdFor(claimed.run_id, claimed.task_id, claimed.map_index, next);
    const done = await client.query(
      `WITH up AS (
         UPDATE task_instances SET state = 'up_for_retry', try_number = $3, job_id = $4, error = $5, error_code = $6,
           pokes = 0, resume_state = NULL, updated_at = now()
         WHERE id = $1 AND try_number = $2 AND state = 'running' RETURNING id)
       UPDATE task_tries t SET state = 'failed', ended_at = clock_timestamp(), error = $5, error_code = $6,
         duration_ms = (extract(epoch FROM clock_timestamp() - t.started_at) * 1000)::int
       FROM up WHERE t.task_instance_id = up.id AND t.try_number = $2 RETURNING t.id`,
      [claimed.id, claimed.try_number, next, jobId, message, code],
    );
    if (done.rowCount === 0) return [];
    const delayMs = retryDelay(task.retryDelayMs, task.maxRetryDelayMs, claimed.try_number);
    return [{ queue: task.kind, jobId, data: { taskInstanceId: claimed.id, tryNumber: next }, delayMs, priority: task.priority }];
  }
  const done = await client.query(FINISH_SQL, [claimed.id, claimed.try_number, 'failed', 'null', message, code]);
  if (done.rowCount === 0 || !dag) return [];
  return (await afterTerminal(client, dag, claimed)).jobs;
}

async function finishWithFailure(
  deps: ExecutorDeps,
  dag: CompiledDag | undefined,
  task: CompiledTask | undefined,
  claimed: Claimed,
  err: unknown,
  log: Logger,
): Promise<void> {
  const client = await deps.pool.connect();
  try {
    await client.query('BEGIN');
    const jobs = await recordFailure(client, dag, task, claimed, err, log);
    await client.query('COMMIT');
    await deps.enqueue(jobs);
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e; // the job fails in BullMQ; the sweeper re-delivers the still-running try later
  } finally {
    client.release();
  }
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
