/**
 * Runs a job handler the way the engine does, without the engine: one pooled client, BEGIN,
 * handler, COMMIT — or ROLLBACK when it throws, except errors carrying `details.keepWrites`
 * (CHECK_FAILED, RECONCILE_FAILED), which the engine commits before marking the task failed —
 * then the after-commit effects (engine/after-commit.ts; file renames recorded without an owner).
 */
import os from 'node:os';
import type pg from 'pg';
import { pino } from 'pino';
import { drizzle } from 'drizzle-orm/node-postgres';
import { AfterCommit } from '../../engine/after-commit.ts';
import { TributaryError } from '../../engine/errors.ts';
import type { Json, TaskContext } from '../../engine/types.ts';

export interface TestTaskOverrides {
  dagId?: string;
  runId?: string;
  taskId?: string;
  mapIndex?: number;
  mapItem?: Json;
  tryNumber?: number;
  logicalDate?: Date;
  dataInterval?: { start: Date; end: Date };
  params?: Record<string, Json>;
  upstream?: Record<string, Json>;
  /** @default [os.tmpdir()], where the tests keep their files */
  dataRoots?: string[];
  resumeState?: Json;
  signal?: AbortSignal;
}

const DAY_MS = 86_400_000;

/** The effects a context built by makeTaskContext registers with. */
export function contextEffects(client: pg.PoolClient, overrides: TestTaskOverrides = {}): AfterCommit {
  return new AfterCommit(client, { taskInstanceId: null, tryNumber: overrides.tryNumber ?? 1, dataRoots: overrides.dataRoots ?? [os.tmpdir()] });
}

/** A TaskContext on `client` (which the caller has already put inside a transaction), registering its effects with `effects`. */
export function makeTaskContext(client: pg.PoolClient, overrides: TestTaskOverrides = {}, effects = contextEffects(client, overrides)): TaskContext {
  const logicalDate = overrides.logicalDate ?? new Date('2025-05-13T00:00:00Z');
  return {
    dagId: overrides.dagId ?? 'test_dag',
    runId: overrides.runId ?? '1',
    taskId: overrides.taskId ?? 'test_task',
    mapIndex: overrides.mapIndex ?? -1,
    mapItem: overrides.mapItem,
    tryNumber: overrides.tryNumber ?? 1,
    logicalDate,
    dataInterval: overrides.dataInterval ?? { start: logicalDate, end: new Date(logicalDate.getTime() + DAY_MS) },
    params: overrides.params ?? {},
    upstream: overrides.upstream ?? {},
    dataRoots: overrides.dataRoots ?? [os.tmpdir()],
    log: pino({ level: 'silent' }),
    resumeState: overrides.resumeState,
    client,
    db: drizzle(client),
    signal: overrides.signal ?? new AbortController().signal,
    ...effects.context(),
  };
}

/** BEGIN → handler(ctx) → COMMIT; ROLLBACK on error unless the error asks to keep its writes. */
export async function runTask<T>(
  pool: pg.Pool,
  handler: (ctx: TaskContext) => Promise<T>,
  overrides: TestTaskOverrides = {},
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const effects = contextEffects(client, overrides);
    const log = pino({ level: 'silent' });
    try {
      const result = await handler(makeTaskContext(client, overrides, effects));
      await client.query('COMMIT');
      await effects.committed(pool, log);
      return result;
    } catch (err) {
      const keep = err instanceof TributaryError && err.details?.keepWrites === true;
      await client.query(keep ? 'COMMIT' : 'ROLLBACK');
      await (keep ? effects.committed(pool, log) : effects.rolledBack(log));
      throw err;
    }
  } finally {
    client.release();
  }
}
