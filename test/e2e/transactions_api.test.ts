/**
 * W4 end to end: the shipped schedules/transactions_api.ts through the real engine (BullMQ on its
 * Postgres backend) against the fake transactions API. Day 1 extracts everything; between days
 * the API modifies, backdates, reverses and adds records, and day 2's extract survives 500s and
 * a 429, asks only for what changed since day 1's watermark, and records exactly those changes
 * in the history. The three reports must equal answers computed from the API's own listing;
 * re-running day 2 changes nothing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTasks, triggerRun } from '../../engine/operations.ts';
import { startFakeTransactionsApi, type FakeApi } from '../../samples/w4-fake-api.ts';
import transactionsApi from '../../schedules/transactions_api.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import {
  expectedReports, expectedRows, latestModified, listAll, sinceParams, sortedRows, storedRows,
} from '../integration/extract/w4-expected.ts';

let t: TestEngine;
let api: FakeApi;
let reportDir: string;

beforeAll(async () => {
  reportDir = await fs.mkdtemp(path.join(os.tmpdir(), 'w4-e2e-'));
  [t, api] = await Promise.all([
    startTestEngine({ backend: 'postgres', dags: [transactionsApi] }),
    startFakeTransactionsApi({ seed: 5, records: 400 }),
  ]);
});
afterAll(async () => {
  await api?.close();
  await t?.close();
  if (reportDir) await fs.rm(reportDir, { recursive: true, force: true });
});

const params = () => ({ apiUrl: `${api.url}/transactions`, reportDir });
const dag = () => t.dags.get('transactions_api')!;
const query = async <R extends object>(sql: string, values: unknown[] = []) => (await t.database.pool.query<R>(sql, values)).rows;

async function runDay(day: string) {
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag(), { date: day, params: params() });
  return { runId, state: await t.waitForRun(runId, 60_000) };
}

const REPORTS = { by_category: 'Transactions_By_Category', top_customers: 'Top_Customers', monthly_spend: 'Monthly_Spend' } as const;

/** The three report files of a day: header + rows (no cell holds a comma or a quote). */
async function readReports(day: string) {
  const read = async (name: string) => {
    const text = await fs.readFile(path.join(reportDir, `${name}_${day.replaceAll('-', '')}.csv`), 'utf8');
    return { lines: text.trimEnd().split('\n').map((l) => l.split(',')), sha256: createHash('sha256').update(text).digest('hex') };
  };
  return {
    by_category: await read(REPORTS.by_category),
    top_customers: await read(REPORTS.top_customers),
    monthly_spend: await read(REPORTS.monthly_spend),
  };
}

async function expectReportsMatchApi(day: string) {
  const reports = await readReports(day);
  const want = expectedReports(sortedRows(expectedRows(await listAll(api))), new Date(`${day}T06:00:00Z`));
  expect(reports.by_category.lines).toEqual([['product_category', 'transactions', 'reversals', 'net_value'], ...want.categories]);
  expect(reports.top_customers.lines).toEqual([['customer_id', 'transactions', 'total_value'], ...want.customers]);
  expect(reports.monthly_spend.lines).toEqual([['month', 'transactions', 'spend'], ...want.months]);
  return reports;
}

const watermark = async () => (await query<{ value: string }>(`SELECT value FROM extract_watermarks WHERE dag_id = 'transactions_api'`))[0]?.value;
const historyRows = () => query<{ key: { transaction_id: string }; change: string; run_id: string }>('SELECT key, change, run_id FROM audit.card_transactions_history ORDER BY id');

describe('W4 transactions_api end to end', () => {
  it('day 1: extracts every record once and writes the three reports', async () => {
    const { state } = await runDay('2025-05-13');
    expect(state).toBe('success');
    const listing = await listAll(api);
    expect(await storedRows(t.database.pool)).toEqual(sortedRows(expectedRows(listing)));
    expect(new Date(String(await watermark())).toISOString()).toBe(latestModified(listing));
    const reports = await expectReportsMatchApi('2025-05-13');
    expect(reports.by_category.lines.length).toBeGreaterThan(5); // 7 categories + uncategorized, all with data
    expect(reports.top_customers.lines).toHaveLength(6);
    expect(reports.monthly_spend.lines.map((l) => l[0])).toEqual([
      'month', '2024-05', '2024-06', '2024-07', '2024-08', '2024-09', '2024-10', '2024-11', '2024-12', '2025-01', '2025-02', '2025-03', '2025-04',
    ]);
    expect(reports.monthly_spend.lines.slice(1).every((l) => Number(l[1]) > 0)).toBe(true);
  });

  let day2: number;
  it('day 2: survives 500s and a 429, extracts only the changes, and histories exactly them', async () => {
    const mark = await watermark();
    api.control.advance({ modify: 6, backdate: 4, reverse: 3, add: 5 });
    api.control.failNext(2);
    api.control.rateLimitNext(1, 1);
    const from = api.control.requests().length;
    const { runId, state } = await runDay('2025-05-14');
    day2 = runId;
    expect(state).toBe('success');
    const requests = api.control.requests().slice(from);
    expect(requests.slice(0, 4).map((r) => r.status)).toEqual([500, 500, 429, 200]);
    expect(requests[3].at - requests[2].at).toBeGreaterThanOrEqual(1000);
    expect(sinceParams(api, from)).toEqual([mark, mark, mark, mark]); // one page of changes, asked four times
    const [extract] = await query<{ result: Record<string, number> }>(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'extract'`, [runId]);
    const truth = api.control.truth();
    expect(extract.result).toMatchObject({ pages: 1, requests: 4, retries: 3, rows_updated: 10, rows_inserted: 8, reversals: 3 });

    const changes = api.control.changes();
    const history = await historyRows();
    const keys = (change: string) => history.filter((h) => h.change === change).map((h) => h.key.transaction_id).sort();
    expect(keys('update')).toEqual(changes.filter((c) => c.kind === 'modified' || c.kind === 'backdated').map((c) => c.transaction_id).sort());
    expect(keys('reversal')).toEqual(changes.filter((c) => c.kind === 'reversed').map((c) => c.reverses).sort());
    expect(history).toHaveLength(truth.modified + truth.backdated + truth.reversed);
    expect(history.every((h) => h.run_id === String(runId))).toBe(true);

    // Reversal entries are rows of their own; the reversed originals are still there, unchanged.
    const listing = await listAll(api);
    const rows = expectedRows(listing);
    expect(await storedRows(t.database.pool)).toEqual(sortedRows(rows));
    const entries = await query<{ transaction_id: string; reverses: string; amount: string; original: string }>(`
      SELECT r.transaction_id, r.reverses, r.transaction_amount::text AS amount, o.transaction_amount::text AS original
      FROM card_transactions r JOIN card_transactions o ON o.transaction_id = r.reverses ORDER BY r.transaction_id`);
    expect(entries.map((e) => e.reverses).sort()).toEqual(keys('reversal'));
    for (const e of entries) expect(Number(e.amount)).toBe(-Number(e.original));
    await expectReportsMatchApi('2025-05-14');
  });

  it('re-running day 2 changes nothing: rows, history, watermark and reports stay', async () => {
    const before = { rows: await storedRows(t.database.pool), history: await historyRows(), mark: await watermark(), reports: await readReports('2025-05-14') };
    const cleared = await clearTasks(t.engine.pool, t.engine.dispatcher, dag(), day2, 'extract', true);
    expect(cleared).toEqual(['extract', 'by_category', 'monthly_spend', 'top_customers'].sort((a, b) => dag().order.indexOf(a) - dag().order.indexOf(b)));
    expect(await t.waitForRun(day2, 60_000)).toBe('success');
    const [extract] = await query<{ result: Record<string, number> }>(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'extract'`, [day2]);
    expect(extract.result).toMatchObject({ rows_inserted: 0, rows_updated: 0, reversals: 0 });
    expect(await storedRows(t.database.pool)).toEqual(before.rows);
    expect(await historyRows()).toEqual(before.history);
    expect(await watermark()).toBe(before.mark);
    const after = await readReports('2025-05-14');
    for (const name of Object.keys(REPORTS) as Array<keyof typeof REPORTS>) expect(after[name].sha256, name).toBe(before.reports[name].sha256);
  });
});
