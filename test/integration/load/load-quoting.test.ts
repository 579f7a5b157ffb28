/**
 * The load job on quoted fields (issue 8 §1, issue 16 §3): text inside a quoted field never becomes a
 * row (a too-long, text-after-quote or wrong-count record is ONE refused record, counting every line
 * it spans), a quote open at the end of the file fails the file, a quote inside an unquoted field is
 * a literal character (or refused when the DAG says so), and empty fields follow COPY CSV — checked
 * with our own SQL.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../engine/errors.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import type { LoadOptionsInput } from '../../../jobs/load/index.ts';
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
async function load(name: string, body: string, extra: Partial<LoadOptionsInput> = {}) {
  const file = await writeFile(dir, `${name}.csv`, `${RATING_HEADER}\n${body}`);
  const result = await runLoad(database, { ...options(file, name), ...extra });
  const loaded = (await query<{ n: number }>(database, `SELECT customer_number AS n FROM ${name} ORDER BY 1`)).map((r) => r.n);
  const audit = await query<{ line: number; reason: string; rule: string }>(database,
    `SELECT line, reason, errors->0->>'rule' AS rule FROM audit.${name}_rejects ORDER BY line`);
  const injected = await query<{ n: number }>(database, `SELECT count(*)::int AS n FROM ${name} WHERE customer_number >= 900000 OR customer_status IN ('injected', 'inner')`);
  return { result, loaded, audit, injected: injected[0].n };
}

describe('load: quoted fields are one field, whatever they hold', () => {
  it('refuses a 1.6 MB quoted field of 80,000 record lines as one record, counting its 80,000 lines', async () => {
    const inner = Array.from({ length: 80_000 }, () => '900000,1,1,injected').join('\n');
    const body = `1,1,1,a\n2,1,1,"${inner}"\n3,1,1,b\n`;
    // The shipped default: a refused record spanning more than 100 lines fails the file.
    const file = await writeFile(dir, 'long_default.csv', `${RATING_HEADER}\n${body}`);
    const err = await runLoad(database, options(file, 'long_default')).catch((e: unknown) => e);
    expect((err as TributaryError).code).toBe('REJECT_LIMIT_EXCEEDED');
    expect((err as TributaryError).message).toContain('a refused record spans lines 3–80002 (80000 lines, more than rejectLimit.maxLinesPerRecord 100)');
    expect(await countIfExists(database, 'long_default')).toBe(0);

    const { result, loaded, audit, injected } = await load('long_field', body, { rejectLimit: { maxLinesPerRecord: 100_000 } });
    expect(result).toMatchObject({ rows_read: 3, rows_loaded: 2, rows_rejected: 1 });
    expect(result.files[0]).toMatchObject({ lines_read: 80_002, lines_rejected: 80_000, multiline_rejects: { count: 1, lines: 80_000, ranges: [[3, 80_002]] } });
    expect(result.warnings).toEqual([`${dir}/long_field.csv: a refused record spans 80000 lines (lines 3–80002); no row on them loaded — if a quote swallowed rows there, fix it and load the file again`]);
    expect(loaded).toEqual([1, 3]);
    expect(injected).toBe(0);
    expect(audit).toEqual([{ line: 3, rule: 'record_too_long', reason: `record longer than ${1 << 20} characters (lines 3–80002)` }]);
  });

  it('refuses a multi-line quoted field with text after a quote as one record, saying where the quote closed', async () => {
    const { result, loaded, audit, injected } = await load('stray', '1,1,1,a\n5,1,1,"note "stray\n900000,1,1,injected\nend"\n6,1,1,b\n');
    expect(result).toMatchObject({ rows_read: 3, rows_loaded: 2, rows_rejected: 1 });
    expect(result.files[0]).toMatchObject({ lines_read: 5, lines_rejected: 3 });
    expect(loaded).toEqual([1, 6]);
    expect(injected).toBe(0);
    expect(audit).toEqual([{
      line: 3, rule: 'text_after_quote',
      reason: 'quoted field 4, opened on line 3, closes at line 3 character 13 but text follows (`stray`): the field runs on to the next quote that can close it, on line 5 (lines 3–5)',
    }]);
  });

  it('refuses a multi-line quoted record with the wrong field count as one record, and names its lines in the warnings', async () => {
    const { result, loaded, audit, injected } = await load('wrong_count', '4,1,1,"note\n900100,1,1,inner\n",extra\n7,1,1,c\n');
    expect(result).toMatchObject({ rows_read: 2, rows_loaded: 1, rows_rejected: 1 });
    expect(result.files[0]).toMatchObject({ lines_read: 4, lines_rejected: 3, multiline_rejects: { count: 1, lines: 3, ranges: [[2, 4]] } });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/wrong_count\.csv: a refused record spans 3 lines \(lines 2–4\); no row on them loaded/);
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

describe('load: a quote inside an unquoted field', () => {
  // A coordinates row of a public CSV edge-case suite: its quotes are seconds marks, not quoting.
  const coordinates = 'id,place,coordinates\n1,Moscow,37°36\'37.8"N 55°45\'21.1"E\n2,"Kyiv, UA",50°27\'N 30°31\'E\n3,Pipe,5 1/2"\n';
  const columns = [{ name: 'id', type: 'integer' as const }, { name: 'place', type: 'text' as const }, { name: 'coordinates', type: 'text' as const }];

  it('is a literal character by default: the coordinates row loads as written', async () => {
    const file = await writeFile(dir, 'coordinates.csv', coordinates);
    const result = await runLoad(database, { source: { file }, target: 'coordinates', columns });
    expect(result).toMatchObject({ rows_read: 3, rows_loaded: 3, rows_rejected: 0, warnings: [] });
    expect(await query(database, 'SELECT id, place, coordinates FROM coordinates ORDER BY id')).toEqual([
      { id: 1, place: 'Moscow', coordinates: '37°36\'37.8"N 55°45\'21.1"E' },
      { id: 2, place: 'Kyiv, UA', coordinates: '50°27\'N 30°31\'E' },
      { id: 3, place: 'Pipe', coordinates: '5 1/2"' },
    ]);
  });

  it("is refused, with its line and character, under csv.strayQuotes 'refuse'", async () => {
    const file = await writeFile(dir, 'coordinates_strict.csv', coordinates);
    const result = await runLoad(database, { source: { file }, target: 'coordinates_strict', columns, csv: { strayQuotes: 'refuse' } });
    expect(result).toMatchObject({ rows_read: 3, rows_loaded: 1, rows_rejected: 2 });
    expect(await query(database, 'SELECT id FROM coordinates_strict')).toEqual([{ id: 2 }]);
    expect(await query(database, `SELECT line, errors->0->>'rule' AS rule, reason FROM audit.coordinates_strict_rejects ORDER BY line`)).toEqual([
      { line: 2, rule: 'stray_quote', reason: 'quote inside unquoted field 3 at line 2 character 20 (`37°36\'37.8"N 55°45\'21.1"E`): a quote opens a field only at its start (csv.strayQuotes \'literal\' keeps it as text) (line 2)' },
      { line: 4, rule: 'stray_quote', reason: 'quote inside unquoted field 3 at line 4 character 13 (`5 1/2"`): a quote opens a field only at its start (csv.strayQuotes \'literal\' keeps it as text) (line 4)' },
    ]);
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
