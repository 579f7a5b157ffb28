/**
 * The extract job on real Postgres against the W4 fake API, with the shipped DAG's options: the
 * first extract loads every record once (cleaned, duplicates dropped); a malformed page commits
 * nothing; after advance() the next extract asks only for what changed since the watermark and
 * the history holds exactly the modified, backdated and reversed transactions; re-running from
 * the same watermark changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractOptions, runExtract, type ExtractResult } from '../../../jobs/extract/index.ts';
import { startFakeTransactionsApi, type FakeApi } from '../../../samples/w4-fake-api.ts';
import dag from '../../../schedules/transactions_api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask } from '../../support/task-context.ts';
import {
  expectedRows, isDayFirst, latestModified, listAll, sinceParams, sortedRows, storedRows, type ApiRecord,
} from './w4-expected.ts';

let database: TestDatabase;
let api: FakeApi;
let runs = 0;

beforeAll(async () => {
  [database, api] = await Promise.all([createTestDatabase(), startFakeTransactionsApi({ seed: 7, records: 250 })]);
});
afterAll(async () => {
  await api?.close();
  await database?.drop();
});

function options() {
  const raw = dag.tasks.extract.options as Record<string, unknown>;
  return extractOptions.parse({ ...raw, url: `${api.url}/transactions`, request: { timeoutMs: 2000, retries: 3, backoffMs: 10, maxBackoffMs: 50 } });
}

const extract = () =>
  runTask(database.pool, (ctx) => runExtract(ctx, options()), { dagId: 'transactions_api', taskId: 'extract', runId: String(++runs) });

async function watermark(): Promise<string | null> {
  const { rows } = await database.pool.query(`SELECT value FROM extract_watermarks WHERE dag_id = 'transactions_api' AND task_id = 'extract'`);
  return rows[0]?.value ?? null;
}

/** A watermark as the fake API writes last_modified (ISO with milliseconds). */
const instant = (v: string | null | undefined) => new Date(String(v)).toISOString();

const count = async (table: string) => (await database.pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;

interface HistoryRow { key: { transaction_id: string }; change: string; before: Record<string, unknown> | null; after: Record<string, unknown>; changed_columns: string[]; run_id: string }

async function history(): Promise<HistoryRow[]> {
  return (await database.pool.query<HistoryRow>('SELECT key, change, before, after, changed_columns, run_id FROM audit.card_transactions_history ORDER BY id')).rows;
}

let firstListing: ApiRecord[];

describe('extract (W4 fake API, shipped options)', () => {
  it('first extract: every record once, cleaned, coercions counted, watermark = the newest last_modified', async () => {
    const from = api.control.requests().length;
    const result = await extract();
    const seen = sinceParams(api, from);
    firstListing = await listAll(api);
    const truth = api.control.truth();
    expect(seen).toEqual([null, null]); // 250 records + duplicates at 200 a page, no watermark yet
    expect(result).toMatchObject({
      pages: 2, requests: 2, retries: 0, rows_read: firstListing.length, rows_loaded: truth.total_records,
      rows_inserted: truth.total_records, rows_updated: 0, rows_unchanged: 0, rows_rejected: 0,
      rows_deduplicated: truth.listed_twice, reversals: 0,
    });
    expect(result.watermark).toEqual({ column: 'last_modified', before: null, after: expect.any(String) });
    expect(instant(result.watermark?.after)).toBe(latestModified(firstListing));
    expect(truth.listed_twice).toBeGreaterThan(0);
    // Counted once per loaded record (a record listed twice is loaded once), and each one audited.
    expect(result.coercions).toEqual({ 'product_category.default': truth.missing_category, 'transaction_date.timestamp_format': truth.day_first_dates });
    expect(truth.missing_category).toBeGreaterThan(0);
    const unique = [...new Map(firstListing.map((r) => [r.transaction_id, r])).values()];
    const audited = await database.pool.query(
      `SELECT "column", coercion, value, coerced, file FROM audit.card_transactions_coercions ORDER BY line, "column"`);
    expect(audited.rows.filter((r) => r.coercion === 'timestamp_format').map((r) => r.value).sort())
      .toEqual(unique.filter((r) => isDayFirst(r.transaction_date)).map((r) => r.transaction_date).sort());
    expect(audited.rows.filter((r) => r.coercion === 'default')).toHaveLength(truth.missing_category);
    expect(audited.rows.every((r) => r.file === `${api.url}/transactions`)).toBe(true);
    const [row] = audited.rows.filter((r) => r.coercion === 'timestamp_format');
    const [, dd, mm, yyyy, time] = /^(\d{2})\/(\d{2})\/(\d{4}) (.+)$/.exec(row.value)!;
    expect(row.coerced).toBe(`${yyyy}-${mm}-${dd}T${time}Z`);
    expect(await storedRows(database.pool)).toEqual(sortedRows(expectedRows(firstListing)));
    expect(await watermark()).toBe(result.watermark?.after);
    expect(await count('audit.card_transactions_history')).toBe(0);
    expect(await count('audit.card_transactions_rejects')).toBe(0);
  });

  it('a malformed page fails with PAGE_MALFORMED and commits nothing', async () => {
    api.control.advance({ modify: 5, backdate: 3, reverse: 2, add: 4 });
    const before = await storedRows(database.pool);
    const mark = await watermark();
    api.control.malformedPage(1, 'invalid_json');
    await expect(extract()).rejects.toMatchObject({ code: 'PAGE_MALFORMED', message: expect.stringMatching(/page=1.*: the body is not JSON/) });
    api.control.malformedPage(1, 'missing_fields');
    await expect(extract()).rejects.toMatchObject({ code: 'PAGE_MALFORMED', message: expect.stringContaining('record 1 has no key value "transaction_id"') });
    expect(await storedRows(database.pool)).toEqual(before);
    expect(await watermark()).toBe(mark);
    expect(await count('audit.card_transactions_history')).toBe(0);
  });

  let second: ExtractResult;
  it('after advance(): asks only for changes since the watermark; history = modified + backdated + reversed', async () => {
    const mark = (await watermark())!;
    const from = api.control.requests().length;
    second = await extract();
    const seen = sinceParams(api, from);
    const changedListing = await listAll(api, mark);
    const all = await listAll(api);
    const truth = api.control.truth();
    const changes = api.control.changes();
    const ids = (kind: string) => changes.filter((c) => c.kind === kind).map((c) => c.transaction_id);

    expect(seen).toEqual([mark]);
    expect(second).toMatchObject({
      pages: 1, rows_read: changedListing.length, rows_updated: truth.modified + truth.backdated,
      rows_inserted: truth.reversed + truth.added, reversals: truth.reversed, rows_rejected: 0,
      watermark: { before: mark },
    });
    expect(instant(second.watermark?.after)).toBe(latestModified(all));
    expect(second.rows_unchanged).toBeGreaterThan(0); // the records at the old watermark, sent again
    expect(await storedRows(database.pool)).toEqual(sortedRows(expectedRows(all)));

    const rows = await history();
    const keys = (change: string) => rows.filter((r) => r.change === change).map((r) => r.key.transaction_id).sort();
    expect(keys('update')).toEqual([...ids('modified'), ...ids('backdated')].sort());
    expect(keys('reversal')).toEqual(changes.filter((c) => c.kind === 'reversed').map((c) => c.reverses).sort());
    expect(rows.every((r) => r.run_id === String(runs))).toBe(true);

    const old = expectedRows(firstListing);
    const now = expectedRows(all);
    for (const r of rows.filter((h) => h.change === 'update')) {
      const id = r.key.transaction_id;
      expect(r.before?.transaction_id).toBe(id);
      expect(Number(r.before?.transaction_amount)).toBe(Number(old.get(id)!.amount));
      expect(Number(r.after.transaction_amount)).toBe(Number(now.get(id)!.amount));
      expect(r.after.status).toBe(now.get(id)!.status);
      expect(r.changed_columns).toContain('last_modified');
      if (ids('backdated').includes(id)) {
        expect(r.changed_columns).toEqual(['transaction_date', 'last_modified']);
        expect(Date.parse(String(r.after.transaction_date))).toBeLessThan(Date.parse(String(r.before?.transaction_date)));
      } else expect(r.changed_columns.some((c) => c === 'status' || c === 'transaction_amount')).toBe(true);
    }
    // Reversals: the original row is untouched, the reversing entry is its own negative row.
    for (const r of rows.filter((h) => h.change === 'reversal')) {
      const original = r.key.transaction_id;
      expect(r.before).toMatchObject({ transaction_id: original, status: 'approved' });
      expect(r.after).toMatchObject({ reverses: original, status: 'reversed', transaction_amount: -Number(old.get(original)!.amount) });
      expect(r.changed_columns).toEqual([]);
      expect(now.get(original)).toEqual(old.get(original));
      const entry = now.get(String(r.after.transaction_id))!;
      expect(entry.amount).toBe((-Number(old.get(original)!.amount)).toFixed(2));
    }
  });

  it('re-running from the same watermark changes nothing', async () => {
    const before = await storedRows(database.pool);
    const rows = await count('audit.card_transactions_history');
    const mark = await watermark();
    const again = await extract();
    expect(again).toMatchObject({ rows_inserted: 0, rows_updated: 0, reversals: 0, rows_unchanged: again.rows_loaded });
    expect(again.rows_read).toBeGreaterThan(0);
    expect(again.watermark).toEqual({ column: 'last_modified', before: mark, after: mark });
    expect(await storedRows(database.pool)).toEqual(before);
    expect(await count('audit.card_transactions_history')).toBe(rows);
    expect(await watermark()).toBe(mark);
  });
});
