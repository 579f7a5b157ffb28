/**
 * Nothing empties a table in silence (issue 16 §4): a non-empty file whose rows are all refused fails
 * its load (LOAD_EMPTY), and a replace / replace-partition never replaces existing rows with nothing
 * unless the DAG says `allowEmpty: true`. The case from the field: a Windows-1252 file loaded as UTF-8
 * into replace-partition mode used to succeed with 0 rows and empty the agency's partition.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { count, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('empty');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const rows = (n: number, status: (i: number) => string) => Array.from({ length: n }, (_, i) => `${i + 1},1,10,${status(i + 1)}`).join('\n');
const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as { code?: string; message: string });

const partitioned = (file: string, extra: object = {}) => ({
  source: { file }, target: 'ratings', columns: RATING_COLUMNS, mode: 'replace-partition' as const,
  partition: { column: 'agency', value: 'acme' }, ...extra,
});

describe('load: nothing empties a table in silence', () => {
  it('a Windows-1252 file read as UTF-8 in replace-partition mode fails LOAD_EMPTY; the partition keeps its rows', async () => {
    const good = await writeFile(dir, 'acme_good.csv', `${RATING_HEADER}\n${rows(20, (i) => `ok-${i}`)}\n`);
    await runLoad(database, partitioned(good));
    await runLoad(database, { ...partitioned(await writeFile(dir, 'other.csv', `${RATING_HEADER}\n${rows(3, () => 'x')}\n`)), partition: { column: 'agency', value: 'other' } });
    const cp1252 = Buffer.from(`${RATING_HEADER}\n${rows(20, () => 'caf\u00e9 cr\u00e8me')}\n`, 'latin1'); // é, è as single bytes
    const bad = await writeFile(dir, 'acme_cp1252.csv', cp1252);
    const err = await failure(runLoad(database, partitioned(bad)));
    expect(err?.code).toBe('LOAD_EMPTY');
    expect(err?.message).toMatch(/acme_cp1252\.csv: all 20 rows refused .*windows-1252/i);
    const [kept] = await query<{ acme: number; other: number }>(database,
      `SELECT count(*) FILTER (WHERE agency = 'acme')::int AS acme, count(*) FILTER (WHERE agency = 'other')::int AS other FROM ratings`);
    expect(kept).toEqual({ acme: 20, other: 3 });
    expect(await count(database, 'audit.ratings_rejects')).toBe(0); // rolled back with the failed load
  });

  it('a header-only file in replace mode fails LOAD_EMPTY naming the rows it would delete; allowEmpty: true empties the table', async () => {
    const full = await writeFile(dir, 'full.csv', `${RATING_HEADER}\n${rows(5, () => 'ok')}\n`);
    const options = (file: string, extra: object = {}) => ({ source: { file }, target: 'replaced', columns: RATING_COLUMNS, mode: 'replace' as const, ...extra });
    await runLoad(database, options(full));
    const headerOnly = await writeFile(dir, 'header-only.csv', `${RATING_HEADER}\n`);
    const err = await failure(runLoad(database, options(headerOnly)));
    expect(err?.code).toBe('LOAD_EMPTY');
    expect(err?.message).toMatch(/replacing replaced would delete its 5 rows and load none .*allowEmpty: true/);
    expect(await count(database, 'replaced')).toBe(5);
    const result = await runLoad(database, options(headerOnly, { allowEmpty: true }));
    expect(result).toMatchObject({ rows_read: 0, rows_loaded: 0 });
    expect(await count(database, 'replaced')).toBe(0);
  });

  it('an append whose rows are all refused fails LOAD_EMPTY with the first reason; allowEmpty: true loads it with its refusals', async () => {
    const file = await writeFile(dir, 'all-bad.csv', `${RATING_HEADER}\n${rows(4, () => 'ok').replace(/^(\d+),1,/gm, '$1,-1,')}\n`);
    const options = (extra: object = {}) => ({ source: { file }, target: 'appended', columns: RATING_COLUMNS, ...extra });
    const err = await failure(runLoad(database, options()));
    expect(err?.code).toBe('LOAD_EMPTY');
    expect(err?.message).toMatch(/all-bad\.csv: all 4 rows refused \(line 2: .*customer_rating.*\); nothing loaded/);
    const result = await runLoad(database, options({ allowEmpty: true }));
    expect(result).toMatchObject({ rows_read: 4, rows_loaded: 0, rows_rejected: 4 });
    expect(await count(database, 'audit.appended_rejects')).toBe(4);
  });

  it('a reject limit passed by a mis-encoded file names the likely encoding', async () => {
    const half = Buffer.from(`${RATING_HEADER}\n${rows(10, (i) => (i % 2 ? 'caf\u00e9' : 'plain'))}\n`, 'latin1');
    const file = await writeFile(dir, 'half_cp1252.csv', half);
    const err = await failure(runLoad(database, { source: { file }, target: 'limited', columns: RATING_COLUMNS, rejectLimit: { fail: { ratio: 0.1 } } }));
    expect(err?.code).toBe('REJECT_LIMIT_EXCEEDED');
    expect(err?.message).toMatch(/5 of 10 rows refused.*csv\.encoding/);
  });
});
