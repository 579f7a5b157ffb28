import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { count, expectAccounting, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('rows');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Every malformed kind and a three-error row between good rows; line numbers are physical. */
function messyFile(eol: string): Buffer {
  const lines = [
    RATING_HEADER, // 1
    '1,10,100,high-value', // 2
    '2,5,50', // 3 wrong field count
    '3,7,60,"5 1/2" open"', // 4 text after a quote (a quote in an unquoted field is text)
    `4,8,80,"two${eol}lines"`, // 5-6 fine, spans two lines
    '5,x,-1,', // 7 three bad columns
    '6,1,1,nul\u0000here', // 8 NUL byte
    '7,1,1,bad @ utf', // 9 invalid UTF-8 (the @ becomes 0xff)
    '8,2,2,"ok, quoted"', // 10
  ];
  const text = Buffer.from(lines.join(eol) + eol);
  text[text.indexOf('@')] = 0xff;
  return text;
}

const options = (file: string, target: string) => ({ source: { file }, target, columns: RATING_COLUMNS });

describe('load: rows and the audit table', () => {
  it('loads the good rows, audits every malformed kind at its physical line, and accounts for all', async () => {
    const file = await writeFile(dir, 'messy.csv', messyFile('\n'));
    const result = await runLoad(database, options(file, 'ratings'), { runId: '41', taskId: 'load_acme' });
    expect(result).toMatchObject({ rows_read: 8, rows_loaded: 3, rows_rejected: 5, rows_deduplicated: 0 });
    expect(expectAccounting(result)).toBe(true);
    expect(result.files[0]).toMatchObject({ path: file, bytes: (await fs.stat(file)).size, skipped: false });
    expect(result.files[0].sha256).toMatch(/^[0-9a-f]{64}$/);

    const loaded = await query(database, 'SELECT * FROM ratings ORDER BY customer_number');
    expect(loaded).toEqual([
      { customer_number: 1, customer_rating: 10, customer_rating_limit: 100, customer_status: 'high-value' },
      { customer_number: 4, customer_rating: 8, customer_rating_limit: 80, customer_status: 'two\nlines' },
      { customer_number: 8, customer_rating: 2, customer_rating_limit: 2, customer_status: 'ok, quoted' },
    ]);

    const audit = await query<{ line: number; raw: string; record: Record<string, string> | null; errors: Array<Record<string, unknown>>; reason: string; run_id: string; task_id: string; file: string }>(
      database, 'SELECT line, raw, record, errors, reason, run_id, task_id, file FROM audit.ratings_rejects ORDER BY line');
    expect(audit.map((a) => [a.line, a.errors.map((e) => e.rule)])).toEqual([
      [3, ['field_count']],
      [4, ['text_after_quote']],
      [7, ['type', 'min', 'required']],
      [8, ['nul_byte']],
      [9, ['invalid_utf8']],
    ]);
    expect(audit[0]).toMatchObject({ raw: '2,5,50', reason: 'wrong number of fields: expected 4, found 3', run_id: '41', task_id: 'load_acme', file });
    expect(audit[1]).toMatchObject({ raw: '3,7,60,"5 1/2" open"', record: { customer_number: '3', customer_rating: '7', customer_rating_limit: '60', customer_status: '5 1/2" open' } });
    const three = audit[2];
    expect(three.raw).toBe('5,x,-1,');
    expect(three.record).toEqual({ customer_number: '5', customer_rating: 'x', customer_rating_limit: '-1', customer_status: '' });
    expect(three.errors).toEqual([
      { column: 'customer_rating', rule: 'type', message: 'customer_rating: "x" is not an integer', value: 'x' },
      { column: 'customer_rating_limit', rule: 'min', message: 'customer_rating_limit: "-1" is below the minimum 0', value: '-1' },
      { column: 'customer_status', rule: 'required', message: 'customer_status: value is required', value: '' },
    ]);
    expect(three.reason).toBe('3 columns failed: customer_rating (type), customer_rating_limit (min), customer_status (required)');
    expect(audit[3].raw).toBe('6,1,1,nul\u2400here');
    expect(audit[4].raw).toBe('7,1,1,bad \ufffd utf');
  });

  it('loads BOM and CRLF files exactly like the plain one', async () => {
    const crlf = await writeFile(dir, 'crlf.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), messyFile('\r\n')]));
    const result = await runLoad(database, options(crlf, 'ratings_crlf'));
    expect(result).toMatchObject({ rows_read: 8, rows_loaded: 3, rows_rejected: 5 });
    const plain = await query(database, 'SELECT customer_number, customer_rating, customer_rating_limit, replace(customer_status, E\'\\r\', \'\') AS s FROM ratings ORDER BY 1');
    const other = await query(database, 'SELECT customer_number, customer_rating, customer_rating_limit, replace(customer_status, E\'\\r\', \'\') AS s FROM ratings_crlf ORDER BY 1');
    expect(other).toEqual(plain);
    const lines = (t: string) => query(database, `SELECT line, errors->0->>'rule' AS rule FROM ${t} ORDER BY line`);
    expect(await lines('audit.ratings_crlf_rejects')).toEqual(await lines('audit.ratings_rejects'));
  });

  it('creates the target from the declared columns with the key as primary key and NOT NULL for required columns', async () => {
    const file = await writeFile(dir, 'keyed.csv', `${RATING_HEADER}\n1,1,1,a\n`);
    await runLoad(database, { ...options(file, 'keyed'), key: ['customer_number'], columns: [...RATING_COLUMNS.slice(0, 3), { name: 'customer_status', type: 'text', required: false }] });
    const cols = await query(database, `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'keyed' ORDER BY ordinal_position`);
    expect(cols.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ['customer_number', 'integer', 'NO'], ['customer_rating', 'integer', 'NO'], ['customer_rating_limit', 'integer', 'NO'], ['customer_status', 'text', 'YES'],
    ]);
    const [pk] = await query(database, `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'keyed'::regclass AND contype = 'p'`);
    expect(pk.def).toBe('PRIMARY KEY (customer_number)');
  });

  it('loads an absent optional column as NULL and ignores extra columns when told to', async () => {
    const file = await writeFile(dir, 'extra.csv', 'customer_number,junk,customer_rating,customer_rating_limit\n9,zz,1,2\n');
    const columns = [...RATING_COLUMNS.slice(0, 3), { name: 'customer_status', type: 'text' as const, required: false }];
    const result = await runLoad(database, { ...options(file, 'extra_ok'), columns, extraColumns: 'ignore' });
    expect(result.rows_loaded).toBe(1);
    expect(await query(database, 'SELECT * FROM extra_ok')).toEqual([{ customer_number: 9, customer_rating: 1, customer_rating_limit: 2, customer_status: null }]);
  });

  it('writes audit rows in batches while COPY goes on, and records coercions in the result and the ledger', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? `${i + 1},bad,1,x` : `${i + 1},"1,${100 + i}",0,  s${i}  `));
    const file = await writeFile(dir, 'coerce.csv', `${RATING_HEADER}\n${rows.join('\n')}\n`);
    const columns = [
      RATING_COLUMNS[0],
      { name: 'customer_rating', type: 'integer' as const, coerce: ['thousands_separator' as const] },
      RATING_COLUMNS[2],
      { name: 'customer_status', type: 'text' as const, coerce: ['trim' as const] },
    ];
    const result = await runLoad(database, { ...options(file, 'coerced'), columns, auditBatchRows: 3 });
    expect(result).toMatchObject({ rows_read: 50, rows_loaded: 40, rows_rejected: 10 });
    expect(result.files[0].coercions).toEqual({ 'customer_rating.thousands_separator': 40, 'customer_status.trim': 40 });
    expect(await count(database, 'audit.coerced_rejects')).toBe(10);
    expect(await query(database, 'SELECT customer_rating, customer_status FROM coerced WHERE customer_number = 2')).toEqual([{ customer_rating: 1101, customer_status: 's1' }]);
    const [ledger] = await query(database, `SELECT rows_read, rows_loaded, rows_rejected, coercions FROM load_ledger WHERE target = 'coerced'`);
    expect(ledger).toEqual({ rows_read: 50, rows_loaded: 40, rows_rejected: 10, coercions: result.files[0].coercions });
  });

  it('round-trips values that COPY CSV must quote, and a lone \\. that would end a COPY', async () => {
    const file = await writeFile(dir, 'quoting.csv', 'id,note\n1,plain\n2,back\\slash\n3,\\.\n4,"with ""quotes"""\n5,"comma, inside"\n6,tab\tinside\n7,\n8,""\n9,"multi\nline"\n');
    const columns = [{ name: 'id', type: 'integer' as const }, { name: 'note', type: 'text' as const, required: false }];
    expect(await runLoad(database, { source: { file }, target: 'quoting', columns })).toMatchObject({ rows_loaded: 9 });
    expect((await query(database, 'SELECT note FROM quoting ORDER BY id')).map((r) => r.note)).toEqual([
      'plain', 'back\\slash', '\\.', 'with "quotes"', 'comma, inside', 'tab\tinside', null, '', 'multi\nline',
    ]);
    const single = await writeFile(dir, 'single.csv', 'note\na\n\\.\nb\n');
    expect(await runLoad(database, { source: { file: single }, target: 'single', columns: [columns[1]] })).toMatchObject({ rows_loaded: 3 });
    expect((await query(database, 'SELECT note FROM single')).map((r) => r.note).sort()).toEqual(['\\.', 'a', 'b']);
  });

  it('honours a custom dialect, no header row and an explicit audit table', async () => {
    const file = await writeFile(dir, 'semi.txt', "1;2;3;'a;b'\n4;5;6;'it''s'\n");
    const result = await runLoad(database, {
      ...options(file, 'semi'), csv: { delimiter: ';', quote: "'", header: false }, audit: 'public.semi_bad',
    });
    expect(result.rows_loaded).toBe(2);
    expect((await query(database, 'SELECT customer_status FROM semi ORDER BY 1')).map((r) => r.customer_status)).toEqual(['a;b', "it's"]);
    expect(await count(database, 'public.semi_bad')).toBe(0);
  });
});
