/** Shared bits of the load integration tests: temp files, running the handler in a transaction. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadKind, loadOptions, type LoadOptionsInput, type LoadResult } from '../../../jobs/load/index.ts';
import type { TestDatabase } from '../../support/db.ts';
import { runTask, type TestTaskOverrides } from '../../support/task-context.ts';

export async function tempDir(label: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `trib-load-${label}-`));
}

export async function writeFile(dir: string, name: string, content: string | Buffer): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}

/** Parses the options like the DAG loader would and runs the handler as one task try. */
export async function runLoad(database: TestDatabase, options: LoadOptionsInput, overrides: TestTaskOverrides = {}): Promise<LoadResult> {
  const parsed = loadOptions.parse(options);
  return (await runTask(database.pool, (ctx) => loadKind.handler(ctx, parsed), overrides)) as LoadResult;
}

export async function query<T = Record<string, unknown>>(database: TestDatabase, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await database.pool.query(sql, params)).rows as T[];
}

export async function count(database: TestDatabase, table: string): Promise<number> {
  const [row] = await query<{ n: number }>(database, `SELECT count(*)::int AS n FROM ${table}`);
  return row.n;
}

/** Rows in a table, or 0 when it does not exist (a rolled-back load may have created it). */
export async function countIfExists(database: TestDatabase, table: string): Promise<number> {
  const [row] = await query<{ ok: boolean }>(database, 'SELECT to_regclass($1) IS NOT NULL AS ok', [table]);
  return row.ok ? count(database, table) : 0;
}

/** rows_read = loaded + rejected + deduplicated, per file and in total. */
export function expectAccounting(result: LoadResult): boolean {
  const ok = (r: { rows_read: number; rows_loaded: number; rows_rejected: number; rows_deduplicated: number }) =>
    r.rows_read === r.rows_loaded + r.rows_rejected + r.rows_deduplicated;
  return ok(result) && result.files.every(ok);
}

/** W1-shaped columns (customer ratings). */
export const RATING_COLUMNS: LoadOptionsInput['columns'] = [
  { name: 'customer_number', type: 'integer', min: 1 },
  { name: 'customer_rating', type: 'integer', min: 0 },
  { name: 'customer_rating_limit', type: 'integer', min: 0 },
  { name: 'customer_status', type: 'text', maxLength: 25 },
];
export const RATING_HEADER = 'customer_number,customer_rating,customer_rating_limit,customer_status';
