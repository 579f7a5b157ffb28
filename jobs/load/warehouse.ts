/**
 * A load into a warehouse connection, exactly once across two databases: the transactional inbox
 * (docs/warehouse.md). In ONE transaction on the warehouse, on the schema named like the engine's
 * (warehouse-tables.ts) first on its search_path: its tables ensured, the try's inbox lock
 * taken, then either the inbox row an earlier delivery of this try committed — its result is the
 * task's, nothing is loaded again — or the load itself (rows, audit rows, ledger rows, all on the
 * warehouse) and this delivery's inbox row; COMMIT. The engine's end follows in the try's own
 * transaction. Returns the load's result (this delivery's or the recorded one).
 */
import { and, desc, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Json, TaskContext } from '../../engine/types.ts';
import { connectionTransaction, contextOn } from '../sql/data-client.ts';
import type pg from 'pg';
import { ensureWarehouseTables, loadInbox } from './warehouse-tables.ts';

/** The try as the engine's record names it: the inbox's key. */
interface TryKey {
  runCreatedUs: number;
  taskInstanceId: number;
  tryNumber: number;
  attempt: number;
}

/**
 * This delivery's task instance id and attempt, read from the engine's record in the try's
 * transaction; null when no worker claimed this try (`trib run-task` runs a handler outside the
 * queues): then there is no delivery to repeat, and the load commits on the warehouse without an inbox row.
 */
async function tryKey(ctx: TaskContext): Promise<TryKey | null> {
  const { rows } = await ctx.client.query<{ id: number; attempt: number; run_created_us: number }>(
    `SELECT ti.id, ti.attempt, (extract(epoch FROM r.created_at) * 1000000)::bigint AS run_created_us
     FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
     WHERE ti.run_id = $1 AND ti.task_id = $2 AND ti.map_index = $3 AND ti.try_number = $4 AND ti.attempt > 0`,
    [ctx.runId, ctx.taskId, ctx.mapIndex, ctx.tryNumber],
  );
  if (rows.length === 0) return null;
  return { runCreatedUs: rows[0].run_created_us, taskInstanceId: rows[0].id, tryNumber: ctx.tryNumber, attempt: rows[0].attempt };
}

/**
 * While the load works on the warehouse, the try's own session waits inside its transaction: a
 * statement at a third of its idle limit (TASK_IDLE_TIMEOUT_MS) keeps Postgres from ending it
 * during a long load. null when the session has no limit.
 */
async function keepSessionAlive(ctx: TaskContext): Promise<NodeJS.Timeout | null> {
  const { rows } = await ctx.client.query<{ ms: number }>(`SELECT setting::int AS ms FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'`);
  const limitMs = rows[0]?.ms ?? 0;
  if (limitMs <= 0) return null;
  return setInterval(() => void ctx.client.query('SELECT 1').catch(() => undefined), Math.max(100, Math.floor(limitMs / 3)));
}

/**
 * The warehouse schema of this load: the engine's (the try's session resolves the engine's tables
 * there first), put first on the warehouse transaction's search_path and its tables ensured.
 */
async function onEngineSchema(ctx: TaskContext, client: pg.PoolClient): Promise<string> {
  const { rows } = await ctx.client.query<{ schema: string }>('SELECT current_schema() AS schema');
  const schema = rows[0].schema;
  await client.query(`SELECT set_config('search_path', format('%I, public', $1::text), true)`, [schema]);
  await ensureWarehouseTables(client, schema);
  return schema;
}

export async function loadIntoWarehouse<T extends object>(
  ctx: TaskContext, connection: string, load: (warehouse: TaskContext) => Promise<T>,
): Promise<T> {
  const key = await tryKey(ctx);
  if (key === null) {
    ctx.log.info({ connection }, 'load: not a queued delivery (no claimed attempt): loading without an inbox row');
    return connectionTransaction(ctx, connection, async (client) => {
      await onEngineSchema(ctx, client);
      return load(contextOn(ctx, client));
    });
  }
  const keepAlive = await keepSessionAlive(ctx);
  try {
    return await inWarehouse(ctx, connection, key, load);
  } finally {
    if (keepAlive) clearInterval(keepAlive);
  }
}

function inWarehouse<T extends object>(ctx: TaskContext, connection: string, key: TryKey, load: (warehouse: TaskContext) => Promise<T>): Promise<T> {
  return connectionTransaction(ctx, connection, async (client) => {
    const schema = await onEngineSchema(ctx, client);
    const inbox = loadInbox(schema);
    // Two deliveries of one try (a stale one still running) load one after the other: the second finds the first's row.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${schema}.inbox.${key.runCreatedUs}.${key.taskInstanceId}.${key.tryNumber}`]);
    const db = drizzle(client);
    const [earlier] = await db.select({ attempt: inbox.attempt, result: inbox.result }).from(inbox)
      .where(and(eq(inbox.runCreatedUs, key.runCreatedUs), eq(inbox.taskInstanceId, key.taskInstanceId), eq(inbox.tryNumber, key.tryNumber)))
      .orderBy(desc(inbox.attempt)).limit(1);
    if (earlier) {
      ctx.log.info({ connection, attempt: earlier.attempt }, `load: attempt ${earlier.attempt} of this try already committed on connection "${connection}"; ending with its result, nothing loaded again`);
      return earlier.result as T;
    }
    const result = await load(contextOn(ctx, client));
    await db.insert(inbox).values({
      ...key, dagId: ctx.dagId, runId: ctx.runId, taskId: ctx.taskId, mapIndex: ctx.mapIndex, result: result as Json,
    });
    return result;
  });
}
