/**
 * The coercion clean-up of a staging merge under the statistics a killed load leaves (issue 22):
 * an ANALYZE that ran while the aborted attempt's rows filled the target and its coercion table
 * records both as empty (reltuples 0, relpages > 0), so the planner expects one row from each. A
 * coercion-heavy load must then take about as long as under true statistics (every statement is
 * also cut at that bound) and keep exactly the coercions of the lines that loaded.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKind, loadOptions, type LoadOptionsInput, type LoadResult } from '../../../jobs/load/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { makeTaskContext } from '../../support/task-context.ts';
import { query, runLoad, tempDir, writeFile } from './helpers.ts';

/** Distinct keys; every key is on two lines and every line's amount is coerced (`1,0xx.00`). */
const KEYS = 10_000;

let database: TestDatabase;
let dir: string;
let file: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('stale-stats');
  const lines = Array.from({ length: 2 * KEYS }, (_, i) => `${(i % KEYS) + 1},"1,${String(i % 1000).padStart(3, '0')}.00",SUCCESS`);
  file = await writeFile(dir, 'events.csv', `event_id,amount,status\n${lines.join('\n')}\n`);
});
afterAll(async () => {
  await database?.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const options = (target: string, extra: Partial<LoadOptionsInput>): LoadOptionsInput => ({
  source: { file }, target, mode: 'upsert', key: ['event_id'],
  columns: [
    { name: 'event_id', type: 'integer', min: 1 },
    { name: 'amount', type: 'numeric', precision: 12, scale: 2, coerce: ['thousands_separator'] },
    { name: 'status', type: 'enum', values: ['SUCCESS', 'FAILED'] },
  ],
  ...extra,
});

/** One try of the load on its own connection: COMMIT, or ROLLBACK after `beforeRollback` (a killed attempt). */
async function tryLoad(
  opts: LoadOptionsInput, how: { statementTimeoutMs?: number; beforeRollback?: () => Promise<void> } = {},
): Promise<{ result: LoadResult; ms: number }> {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    if (how.statementTimeoutMs) await client.query(`SET LOCAL statement_timeout = ${Math.round(how.statementTimeoutMs)}`);
    const started = Date.now();
    const result = (await loadKind.handler(makeTaskContext(client), loadOptions.parse(opts))) as LoadResult;
    const ms = Date.now() - started;
    if (how.beforeRollback) {
      await how.beforeRollback();
      await client.query('ROLLBACK');
    } else await client.query('COMMIT');
    return { result, ms };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The target and its coercion table as a vacuum during a killed attempt leaves them: empty by their statistics. */
async function staleTables(target: string, extra: Partial<LoadOptionsInput>): Promise<void> {
  const one = await writeFile(dir, `${target}-one.csv`, 'event_id,amount,status\n1,1.00,SUCCESS\n');
  await runLoad(database, { ...options(target, extra), source: { file: one } }); // creates both tables
  const tables = `public.${target}, audit.${target}_coercions`;
  await database.pool.query(`TRUNCATE ${tables}`);
  for (const t of [`public.${target}`, `audit.${target}_coercions`]) await database.pool.query(`ALTER TABLE ${t} SET (autovacuum_enabled = off)`);
  await tryLoad(options(target, extra), { beforeRollback: () => database.pool.query(`ANALYZE ${tables}`).then(() => undefined) });
  const stats = await query(database, `SELECT relname, reltuples::int AS tuples, relpages > 0 AS pages FROM pg_class
    WHERE oid IN ($1::regclass, $2::regclass) ORDER BY relname`, [`public.${target}`, `audit.${target}_coercions`]);
  expect(stats).toEqual([{ relname: target, tuples: 0, pages: true }, { relname: `${target}_coercions`, tuples: 0, pages: true }]);
}

/** The coerced lines whose row loaded, as (line, coerced amount): one per key. */
const coercedLines = async (target: string) =>
  query<{ line: number; coerced: string }>(database, `SELECT line::int, coerced FROM audit.${target}_coercions ORDER BY line`);

describe.each([
  // The later line of a key wins: half the coercion rows are deleted in one merge.
  { mode: 'upsert, last line wins', name: 'ev_last', extra: {}, winner: (k: number) => KEYS + k },
  // The first line of a key wins (the repeat is dropped before staging), merged in segments.
  { mode: 'insert-new in segments', name: 'ev_new', extra: { onConflict: 'ignore', mergeSegmentRows: 2000 } as const, winner: (k: number) => k },
])('coercion clean-up under stale statistics: $mode', ({ name, extra, winner }) => {
  /** Per key, the line of the row that loads (data row i is line i + 2) and its coerced amount. */
  const wanted = Array.from({ length: KEYS }, (_, k) => winner(k)).map((i) => ({ line: i + 2, coerced: `1${String(i % 1000).padStart(3, '0')}.00` }));

  it(`loads ${2 * KEYS} coerced lines in about the time true statistics take, and keeps the winners' coercions`, async () => {
    const clean = await tryLoad(options(`${name}_clean`, extra));
    expect(clean.result).toMatchObject({ rows_read: 2 * KEYS, rows_loaded: KEYS, rows_deduplicated: KEYS });
    expect(await coercedLines(`${name}_clean`)).toEqual(wanted);

    await staleTables(name, extra);
    const bound = 2 * clean.ms + 3000;
    const stale = await tryLoad(options(name, extra), { statementTimeoutMs: bound });
    expect(stale.result).toMatchObject({ rows_read: 2 * KEYS, rows_loaded: KEYS, rows_deduplicated: KEYS });
    expect(stale.result.files[0].coercions).toEqual({ 'amount.thousands_separator': KEYS });
    expect(await coercedLines(name)).toEqual(wanted);
    expect(stale.ms).toBeLessThan(bound);
  }, 60_000);
});
