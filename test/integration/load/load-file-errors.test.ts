import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { countIfExists, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('errors');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const options = (file: string, extra: object = {}) => ({ source: { file }, target: 'ratings', columns: RATING_COLUMNS, ...extra });

/** The load fails with `code`, a one-line message naming the file, and leaves nothing behind. */
async function expectFileError(file: string, code: string, extra: object = {}) {
  const err = await runLoad(database, options(file, extra)).then(() => null, (e: unknown) => e as { code: string; message: string });
  expect(err?.code).toBe(code);
  expect(err?.message).toContain(path.basename(file));
  expect(err?.message).not.toContain('\n');
  expect(await countIfExists(database, 'ratings')).toBe(0);
  expect(await countIfExists(database, 'audit.ratings_rejects')).toBe(0);
  expect(await query(database, 'SELECT * FROM load_ledger')).toEqual([]);
  return err;
}

describe('load: file-level errors fail the task with a code and commit nothing', () => {
  it('FILE_NOT_FOUND for a missing file', async () => {
    await expectFileError(path.join(dir, 'missing.csv'), 'FILE_NOT_FOUND');
  });

  it('FILE_EMPTY for a 0-byte file and for a file with only a BOM and blank lines', async () => {
    await expectFileError(await writeFile(dir, 'empty.csv', ''), 'FILE_EMPTY');
    await expectFileError(await writeFile(dir, 'blank.csv', Buffer.from([0xef, 0xbb, 0xbf, 0x0a, 0x0a])), 'FILE_EMPTY');
  });

  it('FILE_UNREADABLE for a directory', async () => {
    await expectFileError(dir, 'FILE_UNREADABLE');
  });

  it('FILE_HEADER_MISMATCH when a required column is missing', async () => {
    const err = await expectFileError(await writeFile(dir, 'nostatus.csv', 'customer_number,customer_rating,customer_rating_limit\n1,2,3\n'), 'FILE_HEADER_MISMATCH');
    expect(err?.message).toContain('customer_status');
  });

  it('FILE_HEADER_DUPLICATE when a header name repeats', async () => {
    const err = await expectFileError(await writeFile(dir, 'dup.csv', `${RATING_HEADER},customer_rating\n1,2,3,x,4\n`), 'FILE_HEADER_DUPLICATE');
    expect(err?.message).toContain('"customer_rating" twice (fields 2 and 5)');
  });

  it('FILE_HEADER_EXTRA for unknown columns unless extraColumns is ignore', async () => {
    const file = await writeFile(dir, 'extra.csv', `${RATING_HEADER},surprise\n1,2,3,x,4\n`);
    const err = await expectFileError(file, 'FILE_HEADER_EXTRA');
    expect(err?.message).toContain('surprise');
  });

  it('REJECT_LIMIT_EXCEEDED by count (mid-stream, COPY abandoned) and by ratio', async () => {
    const good = Array.from({ length: 100_000 }, (_, i) => `${i + 1},1,1,ok`);
    const bad = ['x,1,1,bad', 'y,1,1,bad', 'z,1,1,bad'];
    const file = await writeFile(dir, 'limit.csv', `${RATING_HEADER}\n${[...good, ...bad, ...good.map((l) => `1${l}`)].join('\n')}\n`);
    const err = await expectFileError(file, 'REJECT_LIMIT_EXCEEDED', { rejectLimit: { fail: { count: 2 } } });
    expect(err?.message).toContain('line 100004');
    await expectFileError(file, 'REJECT_LIMIT_EXCEEDED', { rejectLimit: { fail: { ratio: 0.00001 } } });
    // Within the limits the same file loads, on the same pool, after the abandoned COPY.
    const result = await runLoad(database, options(file, { rejectLimit: { fail: { count: 3, ratio: 0.0001 } } }));
    expect(result).toMatchObject({ rows_loaded: 200_000, rows_rejected: 3 });
  });
});
