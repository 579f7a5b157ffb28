/**
 * The engine's functions (engine/sql/*.sql, one transition a file) are not migrations: every
 * `migrate` re-applies them all with CREATE OR REPLACE in the engine's schema, so a function's
 * history is its file's git history. Runs inside the caller's transaction; a file that fails
 * leaves the previous functions in place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { describeError, TributaryError } from '../engine/errors.ts';
import { quoteIdent } from './identifiers.ts';

export const ENGINE_SQL_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'engine', 'sql');

/** Postgres refuses CREATE OR REPLACE that changes a function's result type or argument names. */
const CANNOT_REPLACE = '42P13';

export interface EngineSqlFile {
  name: string;
  text: string;
  /** The functions the file defines. */
  functions: string[];
}

export function readEngineSql(folder = ENGINE_SQL_FOLDER): EngineSqlFile[] {
  return fs.readdirSync(folder).filter((f) => f.endsWith('.sql')).sort().map((name) => {
    const text = fs.readFileSync(path.join(folder, name), 'utf8');
    const functions = [...text.matchAll(/CREATE OR REPLACE FUNCTION\s+(\w+)\s*\(/gi)].map((m) => m[1]);
    return { name, text, functions };
  });
}

/**
 * Creates or replaces every function of engine/sql in `schema`, then drops the engine's functions
 * this transaction did not write: those no file defines any more, and the old overload of one whose
 * argument types changed. With `fresh`, every engine function is dropped first (Postgres refuses
 * CREATE OR REPLACE that changes a result type or an argument name: see runMigrations). Bodies are
 * checked when called, not here, so files apply in any order.
 */
export async function applyEngineSql(client: pg.PoolClient, schema: string, options: { fresh?: boolean } = {}): Promise<void> {
  await client.query(`SET LOCAL search_path = ${quoteIdent(schema, 'engine schema')}, public`);
  await client.query('SET LOCAL check_function_bodies = off');
  if (options.fresh) {
    for (const fn of await engineFunctions(client, schema, false)) await client.query(`DROP FUNCTION ${fn.signature}`);
  }
  for (const file of readEngineSql()) {
    await client.query(file.text).catch((err: unknown) => {
      throw new TributaryError('MIGRATION_FAILED', `engine/sql/${file.name} failed to apply: ${describeError(err)}`, {
        cause: err, details: { cannotReplace: (err as { code?: string }).code === CANNOT_REPLACE },
      });
    });
  }
  for (const fn of await engineFunctions(client, schema, true)) await client.query(`DROP FUNCTION ${fn.signature}`);
}

/**
 * The engine's functions (`trib_*`) in `schema` as DROP FUNCTION takes them; with `stale`, only
 * those this transaction did not write (a row CREATE OR REPLACE wrote carries its transaction id).
 */
async function engineFunctions(client: pg.PoolClient, schema: string, stale: boolean): Promise<{ signature: string }[]> {
  const { rows } = await client.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = $1 AND p.proname LIKE 'trib\\_%' AND (NOT $2 OR p.xmin <> pg_current_xact_id()::xid)`,
    [schema, stale],
  );
  return rows;
}
