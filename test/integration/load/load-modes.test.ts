import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadOptionsInput } from '../../../jobs/load/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { count, expectAccounting, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('modes');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const csv = (rows: string[]) => `${RATING_HEADER}\n${rows.join('\n')}\n`;
const base = (file: string, target: string, extra: Partial<LoadOptionsInput> = {}): LoadOptionsInput => ({
  source: { file }, target, columns: RATING_COLUMNS, ...extra,
});
const table = (name: string) => query(database, `SELECT * FROM ${name} ORDER BY 1, 2`);

describe('load modes and idempotency', () => {
  it('append: a second load of the same file is skipped; the table does not change', async () => {
    const file = await writeFile(dir, 'a.csv', csv(['1,1,1,a', '2,2,2,b']));
    const first = await runLoad(database, base(file, 'appended'));
    expect(first.files[0]).toMatchObject({ skipped: false, rows_loaded: 2 });
    const again = await runLoad(database, base(file, 'appended'));
    expect(again).toMatchObject({ rows_read: 0, rows_loaded: 0, files: [{ skipped: true, sha256: first.files[0].sha256 }] });
    expect(expectAccounting(again)).toBe(true);
    expect(await count(database, 'appended')).toBe(2);
    expect(await query(database, `SELECT target, partition, path, rows_loaded FROM load_ledger WHERE target = 'appended'`)).toEqual([
      { target: 'appended', partition: '', path: file, rows_loaded: 2 },
    ]);
  });

  it('upsert: duplicate keys in the file keep the last line; loading again with force gives the same table', async () => {
    const opts = (file: string, force = false) => base(file, 'upserted', { mode: 'upsert', key: ['customer_number'], force });
    const one = await writeFile(dir, 'u1.csv', csv(['1,1,1,old', '2,2,2,b', '1,9,9,new', '3,3,3,c']));
    const r1 = await runLoad(database, opts(one));
    expect(r1).toMatchObject({ rows_read: 4, rows_loaded: 3, rows_deduplicated: 1 });
    expect(expectAccounting(r1)).toBe(true);
    const after1 = await table('upserted');
    expect(after1).toContainEqual({ customer_number: 1, customer_rating: 9, customer_rating_limit: 9, customer_status: 'new' });
    for (let i = 0; i < 4; i++) expect((await runLoad(database, opts(one, true))).files[0].skipped).toBe(false);
    expect(await table('upserted')).toEqual(after1);
    expect(await count(database, `load_ledger WHERE target = 'upserted'`)).toBe(1);

    const two = await writeFile(dir, 'u2.csv', csv(['2,20,20,changed', '4,4,4,d']));
    expect(await runLoad(database, opts(two))).toMatchObject({ rows_loaded: 2 });
    expect(await table('upserted')).toEqual([
      { customer_number: 1, customer_rating: 9, customer_rating_limit: 9, customer_status: 'new' },
      { customer_number: 2, customer_rating: 20, customer_rating_limit: 20, customer_status: 'changed' },
      { customer_number: 3, customer_rating: 3, customer_rating_limit: 3, customer_status: 'c' },
      { customer_number: 4, customer_rating: 4, customer_rating_limit: 4, customer_status: 'd' },
    ]);
  });

  it('replace: the table holds exactly the last file; a forced reload gives the same table', async () => {
    const a = await writeFile(dir, 'r1.csv', csv(['1,1,1,a', '2,2,2,b', '3,3,3,c']));
    const b = await writeFile(dir, 'r2.csv', csv(['7,7,7,x', '8,8,8,y']));
    await runLoad(database, base(a, 'replaced', { mode: 'replace' }));
    await runLoad(database, base(b, 'replaced', { mode: 'replace' }));
    const afterB = await table('replaced');
    expect(afterB.map((r) => r.customer_number)).toEqual([7, 8]);
    expect((await runLoad(database, base(b, 'replaced', { mode: 'replace' }))).files[0].skipped).toBe(true);
    await runLoad(database, base(b, 'replaced', { mode: 'replace', force: true }));
    expect(await table('replaced')).toEqual(afterB);
  });

  it('replace-partition: reloading one agency leaves the other agencies untouched', async () => {
    const opts = (file: string, agency: string): LoadOptionsInput =>
      base(file, 'ratings_by_agency', { mode: 'replace-partition', key: ['customer_number'], partition: { column: 'agency', value: agency } });
    const acme1 = await writeFile(dir, 'acme_1.csv', csv(['1,1,1,a', '2,2,2,b']));
    const beta = await writeFile(dir, 'beta_1.csv', csv(['1,5,5,beta-one', '3,3,3,beta-three']));
    const acme2 = await writeFile(dir, 'acme_2.csv', csv(['2,20,20,b2', '9,9,9,new']));
    await runLoad(database, opts(acme1, 'acme'));
    await runLoad(database, opts(beta, 'beta'));
    const betaRows = await query(database, `SELECT * FROM ratings_by_agency WHERE agency = 'beta' ORDER BY 1`);
    await runLoad(database, opts(acme2, 'acme'));
    expect(await query(database, `SELECT * FROM ratings_by_agency WHERE agency = 'beta' ORDER BY 1`)).toEqual(betaRows);
    expect((await query(database, `SELECT customer_number FROM ratings_by_agency WHERE agency = 'acme' ORDER BY 1`)).map((r) => r.customer_number)).toEqual([2, 9]);
    const [pk] = await query(database, `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'ratings_by_agency'::regclass AND contype = 'p'`);
    expect(pk.def).toBe('PRIMARY KEY (customer_number, agency)');
    // A mapped task gets its file and partition from the upstream item.
    const mapped = await runLoad(
      database,
      base('', 'ratings_by_agency', { source: { fromUpstream: { task: 'sense' } }, mode: 'replace-partition', key: ['customer_number'], partition: { column: 'agency', value: 'unused' } }),
      { mapIndex: 0, mapItem: { path: acme1, partition: 'acme' } },
    );
    expect(mapped.files[0]).toMatchObject({ path: acme1, rows_loaded: 2 });
    expect((await query(database, `SELECT customer_number FROM ratings_by_agency WHERE agency = 'acme' ORDER BY 1`)).map((r) => r.customer_number)).toEqual([1, 2]);
    expect(await query(database, `SELECT * FROM ratings_by_agency WHERE agency = 'beta' ORDER BY 1`)).toEqual(betaRows);
  });

  it('unique within the file: last wins through staging on append, reject audits the later duplicates', async () => {
    const file = await writeFile(dir, 'dups.csv', csv(['1,1,1,first', '2,2,2,b', '1,3,3,last', '1,4,4,']));
    const columns = (unique: 'last' | 'reject' | 'first') => [{ ...RATING_COLUMNS[0], unique } as LoadOptionsInput['columns'][number], ...RATING_COLUMNS.slice(1)];
    const last = await runLoad(database, base(file, 'dups_last', { columns: columns('last') }));
    expect(last).toMatchObject({ rows_read: 4, rows_loaded: 2, rows_rejected: 1, rows_deduplicated: 1 });
    expect((await query(database, 'SELECT customer_status FROM dups_last WHERE customer_number = 1'))[0].customer_status).toBe('last');
    const first = await runLoad(database, base(file, 'dups_first', { columns: columns('first') }));
    expect(first).toMatchObject({ rows_loaded: 2, rows_rejected: 1, rows_deduplicated: 1 });
    expect((await query(database, 'SELECT customer_status FROM dups_first WHERE customer_number = 1'))[0].customer_status).toBe('first');
    const rejected = await runLoad(database, base(file, 'dups_reject', { columns: columns('reject') }));
    expect(rejected).toMatchObject({ rows_loaded: 2, rows_rejected: 2, rows_deduplicated: 0 });
    expect(await query(database, `SELECT line, errors->0->>'rule' AS rule FROM audit.dups_reject_rejects ORDER BY line`)).toEqual([
      { line: 4, rule: 'unique' }, { line: 5, rule: 'required' },
    ]);
  });

  it('several files in one task (glob): per-file results and totals; already-loaded files are skipped', async () => {
    const sub = path.join(dir, 'many');
    await fs.mkdir(sub);
    await writeFile(sub, 'f_1.csv', csv(['1,1,1,a']));
    await writeFile(sub, 'f_2.csv', csv(['2,2,2,b', 'x,2,2,bad']));
    const opts = base('', 'globbed', { source: { glob: path.join(sub, 'f_*.csv') } });
    const result = await runLoad(database, opts);
    expect(result).toMatchObject({ rows_read: 3, rows_loaded: 2, rows_rejected: 1 });
    expect(result.files.map((f) => path.basename(f.path))).toEqual(['f_1.csv', 'f_2.csv']);
    await writeFile(sub, 'f_3.csv', csv(['3,3,3,c']));
    const next = await runLoad(database, opts);
    expect(next.files.map((f) => f.skipped)).toEqual([true, true, false]);
    expect(await count(database, 'globbed')).toBe(3);
  });
});
