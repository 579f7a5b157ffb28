/** The Postgres pool and Drizzle handle every role shares. */
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from './pg.ts';

/** The engine's schema when none is configured (TRIBUTARY_SCHEMA). */
export const DEFAULT_ENGINE_SCHEMA = 'tributary';

export interface Database {
  pool: pg.Pool;
  db: NodePgDatabase;
  /** The engine's schema: first on every connection's search_path, where `migrate` keeps its tables. */
  schema: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** @default 10 */
  max?: number;
  applicationName?: string;
  /** A starved pool or an unreachable server fails a checkout after this long. @default 10000 */
  connectionTimeoutMillis?: number;
  /** Told every connection error (idle or checked out); the process never crashes on one. */
  onError?: (err: Error) => void;
  /** The engine's schema (TRIBUTARY_SCHEMA). @default 'tributary' */
  schema?: string;
  /** Postgres ends a session idle inside a transaction this long (its locks go with it). @default no limit */
  idleInTransactionMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A pool whose connections resolve unqualified names in the engine's schema first, then `public`
 * (set at connection start, no extra round trip). User tables are always written qualified
 * (db/identifiers.ts), so the engine's names and the user's never meet.
 */
export function connect(databaseUrl: string, options: ConnectOptions = {}): Database {
  const schema = options.schema ?? DEFAULT_ENGINE_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) throw new Error(`engine schema "${schema}" is not a lowercase SQL identifier`);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    options: `-c search_path=${schema},public${options.idleInTransactionMs ? ` -c idle_in_transaction_session_timeout=${Math.trunc(options.idleInTransactionMs)}` : ''}`,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'tributary',
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
  });
  const onError = options.onError ?? (() => undefined);
  // pg-pool listens for errors only while a client is idle: a server restart under a checked-out
  // client would be an uncaught exception. This listener stays for the client's whole life.
  pool.on('connect', (client) => client.on('error', onError));
  pool.on('error', onError);
  return { pool, db: drizzle(pool), schema, close: () => pool.end() };
}

/** Run `fn` in a transaction on one client: COMMIT when it resolves, ROLLBACK when it throws. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
