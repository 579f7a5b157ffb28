/**
 * The extract job on a small cursor-paged API of its own (records nested in the body, an integer
 * key and watermark): refused records land in the audit table with every failing column, the
 * cursor and watermark go back to the source, an integer-keyed reversal is recorded, and a body
 * whose records are not an array fails the task without committing anything.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractOptions, runExtract } from '../../../jobs/extract/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask } from '../../support/task-context.ts';

type Rec = Record<string, unknown>;

let database: TestDatabase;
let server: http.Server;
let base: string;
let records: Rec[] = [];
let broken = false;
const seen: URLSearchParams[] = [];

/** GET /v1/items?limit&after&since → { result: { items }, meta: { next } }; `after` is an offset. */
function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  seen.push(q);
  const since = Number(q.get('since') ?? '-1');
  const list = records.filter((r) => Number(r.version) >= since);
  const at = Number(q.get('after') ?? '0');
  const limit = Number(q.get('limit'));
  const items = list.slice(at, at + limit);
  const next = at + limit < list.length ? String(at + limit) : null;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(broken ? { result: { items: { id: 1 } } } : { result: { items }, meta: { next } }));
}

beforeAll(async () => {
  database = await createTestDatabase();
  server = http.createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await database?.drop();
});

const RAW = {
  url: '{params.api}/v1/items',
  paging: { style: 'cursor', cursorParam: 'after', nextCursorPath: 'meta.next', sizeParam: 'limit', size: 2 },
  recordsPath: 'result.items',
  watermark: { column: 'version', param: 'since' },
  target: 'shop.orders',
  key: ['id'],
  columns: [
    { name: 'id', type: 'integer', min: 1 },
    { name: 'amount', type: 'numeric', precision: 8, scale: 2 },
    { name: 'at', type: 'timestamptz', header: 'created' },
    { name: 'version', type: 'bigint' },
    { name: 'reverses', type: 'integer', required: false },
  ],
  reversal: { column: 'reverses' },
};
const options = extractOptions.parse(RAW);

let runs = 0;
const extract = () =>
  runTask(database.pool, (ctx) => runExtract(ctx, options), { dagId: 'shop', taskId: 'orders', runId: String(++runs), params: { api: base } });

const query = async (sql: string) => (await database.pool.query(sql)).rows;

describe('extract: cursor paging, audit, integer watermark', () => {
  it('loads the valid records, audits the refused ones with every failing column', async () => {
    records = [
      { id: 1, amount: '10.50', created: '2025-05-01T10:00:00Z', version: 3 },
      { id: 2, amount: 'abc', created: 'yesterday', version: 4 },
      { id: 3, amount: 7, created: '2025-05-02T11:00:00Z', version: 5 },
      { id: 4, amount: 1.234, created: '2025-05-03T12:00:00Z', version: 9 },
      { id: 5, amount: -2, created: '2025-05-04T13:00:00+02:00', version: 6 },
    ];
    const result = await extract();
    expect(result).toMatchObject({
      pages: 3, requests: 3, rows_read: 5, rows_loaded: 3, rows_inserted: 3, rows_rejected: 2, rows_deduplicated: 0,
      watermark: { column: 'version', before: null, after: '6' }, // the refused record's version 9 does not count
    });
    expect(seen.map((q) => [q.get('after'), q.get('limit'), q.get('since')])).toEqual([[null, '2', null], ['2', '2', null], ['4', '2', null]]);
    expect(await query('SELECT id, amount::text, at, version::int FROM shop.orders ORDER BY id')).toEqual([
      { id: 1, amount: '10.50', at: new Date('2025-05-01T10:00:00Z'), version: 3 },
      { id: 3, amount: '7.00', at: new Date('2025-05-02T11:00:00Z'), version: 5 },
      { id: 5, amount: '-2.00', at: new Date('2025-05-04T11:00:00Z'), version: 6 },
    ]);
    const audit = await query('SELECT run_id, task_id, file, line::int, raw, record, errors, reason FROM audit.shop_orders_rejects ORDER BY line');
    expect(audit).toEqual([
      {
        run_id: '1', task_id: 'orders', file: `${base}/v1/items?limit=2`, line: 2,
        raw: JSON.stringify(records[1]),
        record: { id: '2', amount: 'abc', at: 'yesterday', version: '4', reverses: '' },
        errors: [
          { column: 'amount', rule: 'type', message: 'amount: "abc" is not a number', value: 'abc' },
          { column: 'at', rule: 'format', message: 'at: "yesterday" is not an ISO 8601 timestamp', value: 'yesterday' },
        ],
        reason: '2 columns failed: amount (type), at (format)',
      },
      expect.objectContaining({ file: `${base}/v1/items?limit=2&after=2`, line: 4, reason: 'amount: "1.234" has more than 2 decimals (numeric(8,2); no round option)' }),
    ]);
  });

  it('resumes from the watermark; a changed record is historied, a reversal entry recorded against its original', async () => {
    records[0] = { ...records[0], amount: '11.00', version: 10 };
    records.push({ id: 6, amount: -7, created: '2025-05-05T09:00:00Z', version: 11, reverses: 3 });
    seen.length = 0;
    const result = await extract();
    expect(seen.map((q) => q.get('since'))).toEqual(['6', '6']);
    expect(result).toMatchObject({ rows_read: 4, rows_updated: 1, rows_inserted: 1, rows_unchanged: 1, reversals: 1, rows_rejected: 1, watermark: { before: '6', after: '11' } });
    const history = await query('SELECT run_id, key, change, before, after, changed_columns FROM audit.shop_orders_history ORDER BY id');
    expect(history).toEqual([
      {
        run_id: '2', key: { id: 1 }, change: 'update', changed_columns: ['amount', 'version'],
        before: { id: 1, amount: 10.5, at: '2025-05-01T10:00:00+00:00', version: 3, reverses: null },
        after: { id: 1, amount: 11, at: '2025-05-01T10:00:00+00:00', version: 10, reverses: null },
      },
      {
        run_id: '2', key: { id: 3 }, change: 'reversal', changed_columns: [],
        before: { id: 3, amount: 7, at: '2025-05-02T11:00:00+00:00', version: 5, reverses: null },
        after: { id: 6, amount: -7, at: '2025-05-05T09:00:00+00:00', version: 11, reverses: 3 },
      },
    ]);
    expect(await query('SELECT id, amount::text FROM shop.orders WHERE id IN (3, 6) ORDER BY id')).toEqual([{ id: 3, amount: '7.00' }, { id: 6, amount: '-7.00' }]);
  });

  it('records that are not an array fail the task with PAGE_MALFORMED; nothing is committed', async () => {
    records[2] = { ...records[2], amount: 8, version: 12 };
    broken = true;
    await expect(extract()).rejects.toMatchObject({ code: 'PAGE_MALFORMED', message: expect.stringContaining('records at "result.items" are object, not an array') });
    broken = false;
    expect(await query(`SELECT value FROM extract_watermarks WHERE dag_id = 'shop'`)).toEqual([{ value: '11' }]);
    expect(await query('SELECT amount::text FROM shop.orders WHERE id = 3')).toEqual([{ amount: '7.00' }]);
    expect(await query('SELECT count(*)::int AS n FROM audit.shop_orders_history')).toEqual([{ n: 2 }]);
    expect(await query('SELECT count(*)::int AS n FROM audit.shop_orders_rejects')).toEqual([{ n: 3 }]);
  });

  it('a watermark kept for another column is not used: the extract starts over, then keeps the new column', async () => {
    const byTime = extractOptions.parse({ ...RAW, watermark: { column: 'at', param: 'since_at' } });
    seen.length = 0;
    const result = await runTask(database.pool, (ctx) => runExtract(ctx, byTime), { dagId: 'shop', taskId: 'orders', runId: String(++runs), params: { api: base } });
    expect(seen.every((q) => !q.has('since_at') && !q.has('since'))).toBe(true);
    expect(result.watermark).toEqual({ column: 'at', before: null, after: '2025-05-05T09:00:00Z' });
    expect(await query(`SELECT "column", value FROM extract_watermarks WHERE dag_id = 'shop'`)).toEqual([{ column: 'at', value: '2025-05-05T09:00:00Z' }]);
  });
});
