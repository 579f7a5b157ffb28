/**
 * upsert with onConflict 'ignore' (insert only new keys) and the coercion audit: a key repeated in
 * a file or already loaded by an earlier file loads once and counts as deduplicated; the same file
 * twice changes nothing; every coercion of a loaded row is a row of `<target>_coercions` with its
 * line; rows_read = loaded + rejected + deduplicated throughout.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadOptionsInput } from '../../../jobs/load/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { count, expectAccounting, query, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('insert-new');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const HEADER = 'event_id,amount,status';
const COLUMNS: LoadOptionsInput['columns'] = [
  { name: 'event_id', type: 'integer', min: 1 },
  { name: 'amount', type: 'numeric', precision: 12, scale: 2, min: 0, coerce: ['thousands_separator'] },
  { name: 'status', type: 'enum', values: ['SUCCESS', 'FAILED'] },
];
const csv = (rows: string[]) => `${HEADER}\n${rows.join('\n')}\n`;
const events = (target: string, file: string, extra: Partial<LoadOptionsInput> = {}): LoadOptionsInput => ({
  source: { file }, target, columns: COLUMNS, mode: 'upsert', key: ['event_id'], onConflict: 'ignore', ...extra,
});
const rows = (target: string) => query(database, `SELECT event_id, amount::text, status FROM ${target} ORDER BY event_id`);
const coercions = (target: string) =>
  query(database, `SELECT file, line::int, "column", coercion, value, coerced FROM audit.${target}_coercions ORDER BY id`);

describe("upsert, onConflict 'ignore'", () => {
  it('loads a key once: repeats in the file and keys of an earlier file are deduplicated, stored rows unchanged', async () => {
    const day1 = await writeFile(dir, 'day1.csv', csv(['1,10.00,SUCCESS', '2,20.00,FAILED', '1,99.00,FAILED', '3,-1,SUCCESS', '2,20.00,FAILED']));
    const r1 = await runLoad(database, events('ev', day1));
    expect(r1).toMatchObject({ rows_read: 5, rows_loaded: 2, rows_rejected: 1, rows_deduplicated: 2 });
    expect(expectAccounting(r1)).toBe(true);
    expect(await rows('ev')).toEqual([
      { event_id: 1, amount: '10.00', status: 'SUCCESS' }, // the first line of key 1 wins
      { event_id: 2, amount: '20.00', status: 'FAILED' },
    ]);

    // Day 2 repeats keys 1 and 2 (one with other values), adds 4 and 5, and repeats 4 itself.
    const day2 = await writeFile(dir, 'day2.csv', csv(['4,40.00,SUCCESS', '1,11.00,FAILED', '5,50.00,FAILED', '2,20.00,FAILED', '4,41.00,SUCCESS']));
    const r2 = await runLoad(database, events('ev', day2));
    expect(r2).toMatchObject({ rows_read: 5, rows_loaded: 2, rows_rejected: 0, rows_deduplicated: 3 });
    expect(expectAccounting(r2)).toBe(true);
    expect(await rows('ev')).toEqual([
      { event_id: 1, amount: '10.00', status: 'SUCCESS' },
      { event_id: 2, amount: '20.00', status: 'FAILED' },
      { event_id: 4, amount: '40.00', status: 'SUCCESS' },
      { event_id: 5, amount: '50.00', status: 'FAILED' },
    ]);
    expect(await query(database, `SELECT path, rows_read::int, rows_loaded::int, rows_deduplicated::int FROM load_ledger WHERE target = 'ev' ORDER BY id`)).toEqual([
      { path: day1, rows_read: 5, rows_loaded: 2, rows_deduplicated: 2 },
      { path: day2, rows_read: 5, rows_loaded: 2, rows_deduplicated: 3 },
    ]);
  });

  it('the same file twice changes nothing: skipped by the ledger, and with force every row is deduplicated', async () => {
    const file = await writeFile(dir, 'twice.csv', csv(['1,1.00,SUCCESS', '2,"2,000.00",FAILED', '3,x,SUCCESS']));
    const first = await runLoad(database, events('tw', file));
    expect(first).toMatchObject({ rows_loaded: 2, rows_rejected: 1, rows_deduplicated: 0 });
    const table = await rows('tw');
    const audit = { rejects: await count(database, 'audit.tw_rejects'), coercions: await coercions('tw') };

    const again = await runLoad(database, events('tw', file));
    expect(again).toMatchObject({ rows_read: 0, rows_loaded: 0, files: [{ skipped: true }] });
    const forced = await runLoad(database, events('tw', file, { force: true }), { runId: '2' });
    expect(forced).toMatchObject({ rows_read: 3, rows_loaded: 0, rows_rejected: 1, rows_deduplicated: 2, files: [{ coercions: {} }] });
    expect(expectAccounting(forced)).toBe(true);
    expect(await rows('tw')).toEqual(table);
    // The forced reload refused the bad row again (its own run's audit) but loaded no coerced row.
    expect(await count(database, 'audit.tw_rejects')).toBe(audit.rejects + 1);
    expect(await coercions('tw')).toEqual(audit.coercions);
  });

  it('merges in segments while reading, first line winning across segments; last-wins plans merge once', async () => {
    const earlier = await writeFile(dir, 'seg0.csv', csv(['7,7.00,SUCCESS']));
    // Segments of 2 valid rows: key 1 repeats two segments later, key 7 came with the earlier file.
    const lines = ['1,"1,000.00",SUCCESS', '2,2.00,FAILED', '3,3.00,SUCCESS', '7,"7,777.00",FAILED', '1,9.00,FAILED', '4,x,SUCCESS', '5,5.00,SUCCESS'];
    const file = await writeFile(dir, 'seg1.csv', csv(lines));
    await runLoad(database, events('sg', earlier));
    const r = await runLoad(database, events('sg', file, { mergeSegmentRows: 2 }));
    expect(r).toMatchObject({ rows_read: 7, rows_loaded: 4, rows_rejected: 1, rows_deduplicated: 2, files: [{ coercions: { 'amount.thousands_separator': 1 } }] });
    expect(expectAccounting(r)).toBe(true);
    expect(await rows('sg')).toEqual([
      { event_id: 1, amount: '1000.00', status: 'SUCCESS' }, { event_id: 2, amount: '2.00', status: 'FAILED' },
      { event_id: 3, amount: '3.00', status: 'SUCCESS' }, { event_id: 5, amount: '5.00', status: 'SUCCESS' },
      { event_id: 7, amount: '7.00', status: 'SUCCESS' },
    ]);
    expect((await coercions('sg')).map((c) => [c.file, c.line])).toEqual([[file, 2]]);

    // Where a later line wins, all duplicates must be staged together: those plans merge once.
    const upsert = await runLoad(database, events('sg_up', file, { onConflict: 'update', mergeSegmentRows: 2 }));
    expect(upsert).toMatchObject({ rows_loaded: 5, rows_deduplicated: 1 });
    expect(await rows('sg_up')).toContainEqual({ event_id: 1, amount: '9.00', status: 'FAILED' }); // the last line of key 1
    const lastStatus = COLUMNS.map((c) => (c.name === 'status' ? { ...c, unique: 'last' as const } : c));
    const last = await runLoad(database, events('sg_last', file, { columns: lastStatus, mergeSegmentRows: 2 }));
    expect(last).toMatchObject({ rows_loaded: 2, rows_deduplicated: 4 });
    expect(await rows('sg_last')).toEqual([{ event_id: 5, amount: '5.00', status: 'SUCCESS' }, { event_id: 7, amount: '7777.00', status: 'FAILED' }]);
  });

  it('a key written two ways (a UUID in two cases) still loads once', async () => {
    const id = '4a0e8c3e-1f7b-4a8e-9a43-2f1c3d5e6f70';
    const file = await writeFile(dir, 'uuid.csv', `id,v\n${id},first\n${id.toUpperCase()},second\n`);
    const r = await runLoad(database, {
      source: { file }, target: 'uu', mode: 'upsert', key: ['id'], onConflict: 'ignore',
      columns: [{ name: 'id', type: 'uuid' }, { name: 'v', type: 'text' }],
    });
    expect(r).toMatchObject({ rows_read: 2, rows_loaded: 1, rows_deduplicated: 1 });
    expect(await query(database, 'SELECT id::text, v FROM uu')).toEqual([{ id, v: 'first' }]);
  });

  it("refuses options that contradict it: another mode, or a key column that is unique 'last'", async () => {
    const file = await writeFile(dir, 'bad.csv', csv(['1,1.00,SUCCESS']));
    await expect(runLoad(database, events('bad', file, { mode: 'append' }))).rejects.toThrow(/onConflict 'ignore' needs mode upsert/);
    const lastKey = COLUMNS.map((c) => (c.name === 'event_id' ? { ...c, unique: 'last' as const } : c));
    await expect(runLoad(database, events('bad', file, { columns: lastKey }))).rejects.toThrow(/cannot be unique 'last'/);
  });
});

describe('coercion audit', () => {
  it('records every coercion of a loaded row with its line, column, value before and after', async () => {
    const file = await writeFile(dir, 'coerce.csv', csv([
      '1,"1,250.00",SUCCESS', // line 2
      '2,"1,250.00",BAD', // line 3: refused, its coercion is not recorded
      '3,7.50,FAILED',
      '4,"12,345,678.90",SUCCESS', // line 5
    ]));
    const result = await runLoad(database, { source: { file }, target: 'co', columns: COLUMNS }, { runId: '7', taskId: 'load', mapIndex: 3 });
    expect(result).toMatchObject({ rows_loaded: 3, rows_rejected: 1, files: [{ coercions: { 'amount.thousands_separator': 2 } }] });
    expect(expectAccounting(result)).toBe(true);
    expect(await coercions('co')).toEqual([
      { file, line: 2, column: 'amount', coercion: 'thousands_separator', value: '1,250.00', coerced: '1250.00' },
      { file, line: 5, column: 'amount', coercion: 'thousands_separator', value: '12,345,678.90', coerced: '12345678.90' },
    ]);
    expect(await query(database, `SELECT DISTINCT run_id, task_id, map_index FROM audit.co_coercions`)).toEqual([{ run_id: '7', task_id: 'load', map_index: 3 }]);
    expect(await query(database, `SELECT coercions FROM load_ledger WHERE target = 'co'`)).toEqual([{ coercions: { 'amount.thousands_separator': 2 } }]);
    expect(await rows('co')).toContainEqual({ event_id: 4, amount: '12345678.90', status: 'SUCCESS' });
  });

  it('keeps only the coercions of rows the merge loads (insert-new: not a key already loaded; upsert: the last line)', async () => {
    const first = await writeFile(dir, 'merge1.csv', csv(['1,"1,000.00",SUCCESS']));
    const second = await writeFile(dir, 'merge2.csv', csv(['1,"2,000.00",SUCCESS', '2,"3,000.00",FAILED', '2,"4,000.00",FAILED']));
    await runLoad(database, events('mg', first));
    const r = await runLoad(database, events('mg', second));
    expect(r).toMatchObject({ rows_loaded: 1, rows_deduplicated: 2, files: [{ coercions: { 'amount.thousands_separator': 1 } }] });
    expect((await coercions('mg')).map((c) => [c.file, c.line, c.coerced])).toEqual([[first, 2, '1000.00'], [second, 3, '3000.00']]);

    const update = await runLoad(database, events('up', second, { onConflict: 'update' }));
    expect(update).toMatchObject({ rows_loaded: 2, rows_deduplicated: 1, files: [{ coercions: { 'amount.thousands_separator': 2 } }] });
    expect((await coercions('up')).map((c) => [c.line, c.coerced])).toEqual([[2, '2000.00'], [4, '4000.00']]);
  });

  it('writes coercions in batches of auditBatchRows with the refused rows, all kept', async () => {
    const lines = Array.from({ length: 120 }, (_, i) => (i % 3 === 2 ? `${i + 1},oops,SUCCESS` : `${i + 1},"1,${String(i).padStart(3, '0')}.00",FAILED`));
    const file = await writeFile(dir, 'batches.csv', csv(lines));
    const result = await runLoad(database, { source: { file }, target: 'bt', columns: COLUMNS, auditBatchRows: 7 });
    expect(result).toMatchObject({ rows_loaded: 80, rows_rejected: 40, files: [{ coercions: { 'amount.thousands_separator': 80 } }] });
    const recorded = await coercions('bt');
    expect(recorded.map((c) => c.line)).toEqual(lines.flatMap((_, i) => (i % 3 === 2 ? [] : [i + 2])));
    expect(await count(database, 'bt')).toBe(80);
  });
});
