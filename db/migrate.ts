/**
 * Applies the drizzle-kit migrations in db/migrations (DDL only; idempotent; safe from several
 * processes), moves the engine's tables into its schema, and re-applies the engine's functions
 * (engine/sql, db/engine-sql.ts). Rolls one migration back with its hand-written
 * `db/migrations/down/<tag>.sql` (drizzle-kit has no down migrations). Both hold one advisory
 * lock, so they never interleave.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { describeError, TributaryError } from '../engine/errors.ts';
import type { Database } from './client.ts';
import { applyEngineSql } from './engine-sql.ts';
import { quoteIdent } from './identifiers.ts';
import { ENGINE_TABLES } from './schema/engine-tables.ts';

export const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
export const DOWN_FOLDER = path.join(MIGRATIONS_FOLDER, 'down');

/** drizzle's record of applied migrations: one row per migration, `created_at` = the journal's `when`. */
const APPLIED_TABLE = '"drizzle"."__drizzle_migrations"';
/** The advisory lock migrations (and db/engine-schema-copy.ts) hold: they never interleave. */
export const MIGRATION_LOCK_KEY = 727274;
const LOCK = `SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
const UNLOCK = `SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;

interface JournalEntry {
  tag: string;
  when: number;
}

async function journal(): Promise<JournalEntry[]> {
  const text = await fs.readFile(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8');
  return (JSON.parse(text) as { entries: JournalEntry[] }).entries;
}

/** `created_at` of every applied migration; empty when nothing was ever applied. */
async function appliedTimes(client: pg.PoolClient): Promise<Set<number>> {
  const { rows: [table] } = await client.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [APPLIED_TABLE]);
  if (!table.ok) return new Set();
  const { rows } = await client.query<{ created_at: string }>(`SELECT created_at FROM ${APPLIED_TABLE}`);
  return new Set(rows.map((r) => Number(r.created_at)));
}

async function inTransaction(client: pg.PoolClient, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await fn();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * drizzle applies only migrations newer than the newest applied one. A migration older than that
 * and not applied (rolled back, or merged from a branch generated earlier) is applied here first.
 */
async function applyOlderMissing(client: pg.PoolClient): Promise<void> {
  const applied = await appliedTimes(client);
  if (applied.size === 0) return;
  const newest = Math.max(...applied);
  const missing = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER })
    .filter((m) => m.folderMillis < newest && !applied.has(m.folderMillis));
  if (missing.length === 0) return;
  await inTransaction(client, async () => {
    for (const m of missing) {
      for (const statement of m.sql) await client.query(statement);
      await client.query(`INSERT INTO ${APPLIED_TABLE} (hash, created_at) VALUES ($1, $2)`, [m.hash, m.folderMillis]);
    }
  });
}

/**
 * Installs made before the engine had a schema keep its tables in `public`: each moves (with its
 * indexes, constraints and sequences) unless the engine's schema has it already. The functions
 * the old migrations made in `public` go; engine/sql makes them again in the engine's schema.
 */
async function moveEngineTables(client: pg.PoolClient, schema: string): Promise<string[]> {
  const target = quoteIdent(schema, 'engine schema');
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${target}`);
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)
       AND to_regclass(format('%I.%I', $2::text, c.relname)) IS NULL`,
    [ENGINE_TABLES, schema],
  );
  for (const { name } of rows) await client.query(`ALTER TABLE public.${quoteIdent(name)} SET SCHEMA ${target}`);
  const { rows: stale } = await client.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.proname LIKE 'trib\\_%'`,
  );
  for (const { signature } of stale) await client.query(`DROP FUNCTION IF EXISTS public.${signature}`);
  return rows.map((r) => r.name);
}

export interface MigrationResult {
  /** Engine tables this call moved out of `public` into the engine's schema (an install from before it). */
  movedTables: string[];
}

export async function runMigrations(database: Database): Promise<MigrationResult> {
  const client = await database.pool.connect();
  try {
    // Two roles starting at once must not both apply the same migration.
    await client.query(LOCK);
    // drizzle-kit writes migrations against `public`: new tables land there (the engine's are
    // moved below), and a later ALTER of an engine table resolves in the engine's schema.
    await client.query(`SET search_path = public, ${quoteIdent(database.schema, 'engine schema')}`);
    await applyOlderMissing(client);
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
    let movedTables: string[] = [];
    const install = (fresh: boolean) => inTransaction(client, async () => {
      movedTables = await moveEngineTables(client, database.schema);
      await applyEngineSql(client, database.schema, { fresh });
    });
    // A function whose result type or argument names changed cannot be replaced: all are made anew.
    await install(false).catch((err: unknown) => {
      if ((err as TributaryError).details?.cannotReplace === true) return install(true);
      throw err;
    });
    return { movedTables };
  } finally {
    await client.query('RESET search_path').catch(() => undefined);
    await client.query(UNLOCK).catch(() => undefined);
    client.release();
  }
}

/**
 * Rolls back one applied migration: runs `down/<tag>.sql` and removes its row from drizzle's table
 * in one transaction (a failing down migration changes nothing). A later migration that depends on
 * it must be rolled back first. `runMigrations` applies it again.
 */
export async function rollbackMigration(database: Database, tag: string): Promise<void> {
  const entries = await journal();
  const entry = entries.find((e) => e.tag === tag);
  if (!entry) {
    throw new TributaryError('ARGUMENT_INVALID', `unknown migration "${tag}" (known: ${entries.map((e) => e.tag).join(', ')})`);
  }
  const downFile = path.join(DOWN_FOLDER, `${tag}.sql`);
  const down = await fs.readFile(downFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new TributaryError('ARGUMENT_INVALID', `migration "${tag}" has no down migration (${downFile})`);
    throw err;
  });
  const client = await database.pool.connect();
  try {
    await client.query(LOCK);
    if (!(await appliedTimes(client)).has(entry.when)) {
      throw new TributaryError('ARGUMENT_INVALID', `migration "${tag}" is not applied to this database`);
    }
    await inTransaction(client, async () => {
      await client.query(down).catch((err: unknown) => {
        throw new TributaryError('MIGRATION_FAILED', `rolling back "${tag}" failed, nothing changed: ${describeError(err)}`, { cause: err });
      });
      await client.query(`DELETE FROM ${APPLIED_TABLE} WHERE created_at = $1`, [entry.when]);
    });
  } finally {
    await client.query(UNLOCK).catch(() => undefined);
    client.release();
  }
}
