/**
 * The load job on quoted fields (issue 8 §1): text inside a quoted field never becomes a row (a
 * too-long, stray-quoted or wrong-count record is ONE refused record), a quote open at the end of
 * the file fails the file, and empty fields follow COPY CSV — checked with our own SQL.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../engine/errors.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { countIfExists, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('quoting');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const options = (file: string, target: string) => ({ source: { file }, target, columns: RATING_COLUMNS });

/** Loads `body` under the rating header; returns the result, the loaded numbers and the audit rows. */
async function load(name: string, body: string) {
  const file = await writeFile(dir, `${name}.csv`, `${RATING_HEADER}\n${body}`);
  const result = await runLoad(database, options(file, name));
  const loaded = (await query<{ n: number }>(database, `SELECT customer_number AS n FROM ${name} ORDER BY 1`)).map((r) => r.n);
  const audit = await query<{ line: number; reason: string; rule: string }>(database,
    `SELECT line, reason, errors->0->>'rule' AS rule FROM audit.${name}_rejects ORDER BY line`);
  const injected = await query<{ n: number }>(database, `SELECT count(*)::int AS n FROM ${name} WHERE customer_number >= 900000 OR customer_status IN ('injected', 'inner')`);
  return { result, loaded, audit, injected: injected[0].n };
}

describe('load: quoted fields are one field, whatever they hold', () => {
  it('refuses a 1.6 MB quoted field of 80,000 record lines as one record, and loads none of them', async () => {
    const inner = Array.from({ length: 80_000 }, () => '900000,1,1,injected').join('\n');
    const { result, loaded, audit, injected } = await load('long_field', `1,1,1,a\n2,1,1,"${inner}"\n3,1,1,b\n`);
    expect(result).toMatchObject({ rows_read: 3, rows_loaded: 2, rows_rejected: 1 });
    expect(loaded).toEqual([1, 3]);
    expect(injected).toBe(0);
    expect(audit).toEqual([{ line: 3, rule: 'record_too_long', reason: `record longer than ${1 << 20} characters (lines 3–80002)` }]);
  });

  it('refuses a multi-line quoted field with a stray quote as one record', async () => {
    const { result, loaded, audit, injected } = await load('stray', '1,1,1,a\n5,1,1,"note "stray\n900000,1,1,injected\nend"\n6,1,1,b\n');
    expect(result).toMatchObject({ rows_read: 3, rows_loaded: 2, rows_rejected: 1 });
    expect(loaded).toEqual([1, 6]);
    expect(injected).toBe(0);
    expect(audit).toEqual([{ line: 3, rule: 'stray_quote', reason: 'stray quote in field 4 at character 13 (lines 3–5)' }]);
  });

  it('refuses a multi-line quoted record with the wrong field count as one record', async () => {
    const { result, loaded, audit, injected } = await load('wrong_count', '4,1,1,"note\n900100,1,1,inner\n",extra\n7,1,1,c\n');
    expect(result).toMatchObject({ rows_read: 2, rows_loaded: 1, rows_rejected: 1 });
    expect(loaded).toEqual([7]);
    expect(injected).toBe(0);
    expect(audit).toEqual([{ line: 2, rule: 'field_count', reason: 'wrong number of fields: expected 4, found 5 (lines 2–4)' }]);
  });

  it('fails the file on a quote left open at its end, loading nothing', async () => {
    const file = await writeFile(dir, 'open.csv', `${RATING_HEADER}\n1,1,1,a\n2,1,1,"never closed\n900000,1,1,injected\n`);
    const err = await runLoad(database, options(file, 'open_quote')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('FILE_UNTERMINATED_QUOTE');
    expect((err as TributaryError).message).toContain('quoted field 4 is never closed, to the end of the file (lines 3–4); nothing loaded');
    expect(await countIfExists(database, 'open_quote')).toBe(0);
  });
});

describe('load: empty fields follow COPY CSV', () => {
  it('loads "" as the empty string and an unquoted empty as NULL; a required text column takes "" only', async () => {
    const file = await writeFile(dir, 'empties.csv', 'id,note,must,num\n1,"",x,1\n2,,x,2\n3,a,"",3\n4,a,,4\n5,a,x,""\n6,a,x,\n');
    const columns = [
      { name: 'id', type: 'integer' as const },
      { name: 'note', type: 'text' as const, required: false },
      { name: 'must', type: 'text' as const },
      { name: 'num', type: 'integer' as const, required: false },
    ];
    const result = await runLoad(database, { source: { file }, target: 'empties', columns });
    expect(result).toMatchObject({ rows_read: 6, rows_loaded: 4, rows_rejected: 2 });
    const ids = async (where: string) => (await query<{ id: number }>(database, `SELECT id FROM empties WHERE ${where} ORDER BY id`)).map((r) => r.id);
    expect(await ids(`note = ''`)).toEqual([1]);
    expect(await ids('note IS NULL')).toEqual([2]);
    expect(await ids(`must = ''`)).toEqual([3]);
    expect(await ids('num IS NULL')).toEqual([6]);
    const audit = await query(database, `SELECT line, errors->0->>'rule' AS rule, errors->0->>'message' AS message FROM audit.empties_rejects ORDER BY line`);
    expect(audit).toEqual([
      { line: 5, rule: 'required', message: 'must: value is required' },
      { line: 6, rule: 'type', message: 'num: "" is not an integer' },
    ]);
  });

  it("reads both empties per the column's `empty` option: null, empty-string, reject", async () => {
    const file = await writeFile(dir, 'options.csv', 'id,as_null,as_empty,refused\n1,"","",a\n2,,,a\n3,a,a,""\n4,a,a,\n');
    const columns = [
      { name: 'id', type: 'integer' as const },
      { name: 'as_null', type: 'text' as const, required: false, empty: 'null' as const },
      { name: 'as_empty', type: 'text' as const, empty: 'empty-string' as const },
      { name: 'refused', type: 'text' as const, required: false, empty: 'reject' as const },
    ];
    const result = await runLoad(database, { source: { file }, target: 'empty_options', columns });
    expect(result).toMatchObject({ rows_read: 4, rows_loaded: 2, rows_rejected: 2 });
    const rows = await query(database, `SELECT id, as_null IS NULL AS null_a, as_empty = '' AS empty_b FROM empty_options ORDER BY id`);
    expect(rows).toEqual([{ id: 1, null_a: true, empty_b: true }, { id: 2, null_a: true, empty_b: true }]);
    const audit = await query(database, `SELECT line, errors->0->>'rule' AS rule FROM audit.empty_options_rejects ORDER BY line`);
    expect(audit).toEqual([{ line: 4, rule: 'empty' }, { line: 5, rule: 'empty' }]);
  });
});
