/**
 * The client a task works on its data with. Without a `connection` option: the try's own client
 * (ctx.client, the database of record, committed with the task's state). With one: a client of that
 * postgres connection (engine/connections.ts) in a transaction of its own, committed when `work`
 * returns (or throws an error that keeps its writes: a failed check), else rolled back. A lost or
 * unreachable connection is DATABASE_UNAVAILABLE: an outage the engine retries, not the task's fault.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { processConnections } from '../../engine/connections.ts';
import { describeError, isInfrastructure, TributaryError } from '../../engine/errors.ts';
import type { TaskContext } from '../../engine/types.ts';

function outage(name: string, what: string, err: unknown): TributaryError {
  return new TributaryError('DATABASE_UNAVAILABLE', `connection "${name}": ${what}: ${describeError(err)}`, { cause: err });
}

function keepsWrites(err: unknown): boolean {
  return err instanceof TributaryError && err.details?.keepWrites === true;
}

/**
 * Runs `work` inside a transaction on postgres connection `name`. Checks ctx.signal before the
 * COMMIT (a timed-out try commits nothing more). The client is destroyed, not returned, when its
 * connection failed.
 */
export async function connectionTransaction<T>(
  ctx: Pick<TaskContext, 'signal'> & Partial<Pick<TaskContext, 'log'>>, name: string, work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const connections = processConnections();
  const pool = connections.pool(name);
  ctx.log?.info({ connection: name, url: connections.shown(connections.get(name)).url }, `working on connection "${name}"`);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw outage(name, 'cannot connect', err);
  }
  let broken = false;
  const onError = () => (broken = true);
  client.on('error', onError);
  let committing = false;
  let outcome: { value: T } | { error: unknown };
  try {
    await client.query('BEGIN');
    outcome = await work(client).then((value) => ({ value }), (error: unknown) => ({ error }));
    if ('error' in outcome && (!keepsWrites(outcome.error) || broken)) throw outcome.error;
    ctx.signal.throwIfAborted();
    committing = true;
    await client.query('COMMIT');
  } catch (err) {
    if (!committing && !broken) await client.query('ROLLBACK').catch(() => (broken = true));
    throw broken || isInfrastructure(err) ? outage(name, committing ? 'COMMIT failed (it may have landed)' : 'connection lost', err) : err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/** Runs `work` with the task's data client and a Drizzle handle on it: the try's own, or `connection`'s (see the file comment). */
export async function onDataClient<T>(ctx: TaskContext, connection: string | undefined, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  if (connection === undefined) return work(ctx.client);
  return connectionTransaction(ctx, connection, work);
}

/** A kind's preflight on its data's database: `client` (the record's), or a transaction of its own on `connection`. */
export async function onPreflightClient<T>(client: pg.PoolClient, connection: string | undefined, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  if (connection === undefined) return work(client);
  return connectionTransaction({ signal: new AbortController().signal }, connection, work);
}

/** A copy of `ctx` whose client and db are `client`'s (a warehouse's), for code written against ctx. */
export function contextOn(ctx: TaskContext, client: pg.PoolClient): TaskContext {
  return { ...ctx, client, db: drizzle(client) };
}
