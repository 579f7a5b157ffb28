/**
 * W3 end to end: the shipped schedules/merchant_activity.ts through the real engine (BullMQ on its
 * Postgres backend) on three generated days across a month boundary. Every planted defect is in
 * the audit with its exact count, each file's loaded / rejected / deduplicated rows equal the
 * truth, an event repeated within a file or from an earlier file is loaded once, every coercion is
 * recorded at its line, the five reports equal the truth, and re-running a day changes nothing.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTasks, triggerRun } from '../../engine/operations.ts';
import type { Json } from '../../engine/types.ts';
import { generateMerchantActivity, type W3Truth } from '../../samples/w3-merchant-activity.ts';
import merchantActivity from '../../schedules/merchant_activity.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { expectedReports, findings, KIND_BY_ERRORS, refusedKinds, truthDifferences } from './merchant-activity-truth.ts';

const DAYS = ['2025-05-30', '2025-05-31', '2025-06-01'];

let t: TestEngine;
let root: string;
let truth: W3Truth;
let params: { dataDir: string; reportDir: string };
const runs = new Map<string, number>();

const query = async <R extends object>(sql: string, values: unknown[] = []) => (await t.database.pool.query<R>(sql, values)).rows;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'w3-e2e-'));
  params = { dataDir: path.join(root, 'data'), reportDir: path.join(root, 'reports') };
  truth = await generateMerchantActivity({ dir: params.dataDir, seed: 11, size: 400, days: DAYS.length, startDate: DAYS[0] });
  t = await startTestEngine({ backend: 'postgres', dags: [merchantActivity] });
  for (const day of DAYS) {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('merchant_activity')!, { date: day, params: params as Record<string, Json> });
    const state = await t.waitForRun(runId, 60_000);
    if (state !== 'success') throw new Error(`run of ${day} ${state}: ${JSON.stringify(await t.taskStates(runId))}`);
    runs.set(day, runId);
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** Everything a re-run must leave as it is. */
const loadedState = async () => ({
  events: await query('SELECT md5(string_agg(e::text, \'|\' ORDER BY event_id)) AS digest, count(*)::int AS n FROM merchant_events e'),
  ledger: await query('SELECT path, sha256, run_id, rows_read, rows_loaded, rows_rejected, rows_deduplicated, coercions, loaded_at FROM load_ledger ORDER BY id'),
  rejects: await query('SELECT id, file, line, errors FROM audit.merchant_events_rejects ORDER BY id'),
  coercions: await query('SELECT id, file, line, value, coerced FROM audit.merchant_events_coercions ORDER BY id'),
});

describe('three generated days (400 events a day, 2025-05-30 … 2025-06-01)', () => {
  it('matches the truth: rows loaded, refused by planted kind, deduplicated and coerced per file; table size; reports', async () => {
    expect(truthDifferences(await findings(t.database.pool, runs.get(DAYS.at(-1)!)!), truth)).toEqual([]);
    // Days two and three repeat events of the day before: deduplicated there, not loaded again.
    expect(truth.files.slice(1).map((f) => f.defects.repeated_event_id > 0)).toEqual([true, true]);
    const [{ n }] = await query<{ n: number }>('SELECT count(*)::int AS n FROM merchant_events');
    expect(n).toBe(truth.files.reduce((sum, f) => sum + f.loaded, 0));
  });

  it('audits each refused row with one error naming its planted defect and a reason', async () => {
    const audit = await query<{ file: string; errors: Array<{ column: string | null; rule: string }>; reason: string }>(
      'SELECT file, errors, reason FROM audit.merchant_events_rejects',
    );
    for (const file of truth.files) {
      const found: Record<string, number> = Object.fromEntries(Object.keys(file.defects).map((k) => [k, 0]));
      for (const row of audit.filter((a) => path.basename(a.file) === file.file)) {
        const kind = KIND_BY_ERRORS[row.errors.map((e) => `${e.column}:${e.rule}`).join(',')];
        expect(kind, JSON.stringify(row.errors)).toBeDefined();
        expect(row.reason).not.toBe('');
        found[kind] += 1;
      }
      expect(found, file.file).toEqual(refusedKinds(file.defects));
    }
    const result = await query<{ result: { rows_read: number; rows_loaded: number; rows_rejected: number; rows_deduplicated: number } }>(
      `SELECT result FROM task_instances WHERE task_id = 'load' AND map_index >= 0`,
    );
    expect(result).toHaveLength(DAYS.length);
    for (const { result: r } of result) expect(r.rows_read).toBe(r.rows_loaded + r.rows_rejected + r.rows_deduplicated);
  });

  it('records each thousands-separator coercion at its line, and only those', async () => {
    const coerced = await query<{ file: string; line: number; column: string; coercion: string; value: string; coerced: string }>(
      'SELECT file, line::int, "column", coercion, value, coerced FROM audit.merchant_events_coercions ORDER BY file, line',
    );
    for (const file of truth.files) {
      const mine = coerced.filter((c) => path.basename(c.file) === file.file);
      expect(mine, file.file).toHaveLength(file.coerced_amounts);
      const lines = (await fs.readFile(path.join(params.dataDir, file.file), 'utf8')).split('\n');
      const expected: Array<{ event_id: string; amount: string }> = [];
      for (const c of mine) {
        expect(c).toMatchObject({ column: 'amount', coercion: 'thousands_separator', coerced: c.value.replaceAll(',', '') });
        expect(lines[c.line - 1], `${file.file}:${c.line}`).toContain(`,"${c.value}",`);
        expected.push({ event_id: lines[c.line - 1].split(',')[0], amount: c.coerced });
      }
      // The event at each recorded line was loaded with the coerced amount.
      const stored = await query('SELECT event_id::text, amount::text FROM merchant_events WHERE event_id = ANY($1::uuid[]) ORDER BY event_id', [
        expected.map((e) => e.event_id),
      ]);
      expect(stored).toEqual(expected.sort((a, b) => a.event_id.localeCompare(b.event_id)));
    }
  });

  it("writes the five reports as CSV and JSON rows; the last day's (all history) equal the truth", async () => {
    const runId = runs.get(DAYS.at(-1)!)!;
    const stored = await query<{ task_id: string; file_name: string; rows: Json }>(
      'SELECT task_id, file_name, rows FROM reports WHERE run_id = $1 ORDER BY task_id', [runId],
    );
    expect(Object.fromEntries(stored.map((r) => [r.task_id, r.rows]))).toEqual(expectedReports(truth));
    expect(truth.reports.monthly_active_merchants.map((m) => m.month)).toEqual(['2025-05', '2025-06']);
    expect(truth.reports.top_merchant_by_success_amount).toEqual(truth.reports.top_merchants_by_success_amount[0]);

    expect(stored.map((r) => r.file_name).sort()).toEqual([
      'Failure_Rate_By_Product_20250601.csv', 'KYC_Funnel_20250601.csv', 'Monthly_Active_Merchants_20250601.csv',
      'Product_Adoption_20250601.csv', 'Top_Merchants_20250601.csv',
    ]);
    const csv = await fs.readFile(path.join(params.reportDir, 'Product_Adoption_20250601.csv'), 'utf8');
    expect(csv).toBe(['product,merchants', ...truth.reports.product_adoption.map((p) => `${p.product},${p.merchants}`)].join('\n') + '\n');
  });

  it('re-running a day changes nothing: loads skipped; table, ledger, audit and report files identical', async () => {
    // 2025-05-31, with 2025-06-01 loaded since: its reports stay as of its own day.
    const day = DAYS[1];
    const runId = runs.get(day)!;
    const reportFiles = (await fs.readdir(params.reportDir)).filter((f) => f.includes('20250531')).sort();
    expect(reportFiles).toHaveLength(5);
    const files = async () => Promise.all(reportFiles.map((f) => fs.readFile(path.join(params.reportDir, f), 'utf8')));
    const before = { state: await loadedState(), files: await files() };

    await clearTasks(t.engine.pool, t.engine.dispatcher, t.dags.get('merchant_activity')!, runId, 'files', true);
    expect(await t.waitForRun(runId, 60_000)).toBe('success');

    expect({ state: await loadedState(), files: await files() }).toEqual(before);
    const loads = await query<{ result: { files: Array<{ skipped: boolean }> } }>(
      `SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'load' AND map_index >= 0`, [runId],
    );
    expect(loads.flatMap((l) => l.result.files.map((f) => f.skipped))).toEqual([true]);
  });
});
