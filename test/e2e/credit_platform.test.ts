/**
 * The shipped credit_platform DAG (schedules/credit_platform.ts) end to end through the real
 * engine on two generated days with the number formats of real extracts (float noise, 5–6
 * decimals, `-0.0`, fees signed opposite to their items): every row loads exactly as written
 * (counts and exact sums against an independent recount of the files), every check and
 * reconciliation finds exactly the planted truth, the three reports are written and consistent,
 * and re-running a day or re-loading its files changes nothing.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTasks, triggerRun } from '../../engine/operations.ts';
import { generateCreditPlatform, type W2Truth } from '../../samples/w2-credit-platform.ts';
import creditPlatform from '../../schedules/credit_platform.ts';
import { readCsv, readRecords } from '../integration/samples/csv-reader.ts';
import { exact, recountW2 } from '../integration/samples/w2-recount.ts';
import { expectedRowCounts, runFindings, tableChecksums, tableRowCounts, truthDifferences } from '../integration/db/credit-platform.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { warehouseNumbers } from './credit-platform-numbers.ts';

const DAYS = ['2025-05-13', '2025-05-14'];

describe('credit_platform DAG end to end (redis)', () => {
  let t: TestEngine;
  let dir: string;
  let truth: W2Truth;
  const runs: number[] = [];
  const params = () => ({ dataDir: path.join(dir, 'data'), reportDir: path.join(dir, 'reports') });

  const runDay = async (day: string): Promise<number> => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('credit_platform')!, { date: day, params: params() });
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
    return runId;
  };
  const rerun = async (runId: number): Promise<void> => {
    await clearTasks(t.engine.pool, t.engine.dispatcher, t.dags.get('credit_platform')!, runId, 'extracts', true);
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'w2-e2e-'));
    truth = await generateCreditPlatform({ dir: path.join(dir, 'data'), seed: 5, size: 0.05, days: 2, startDate: DAYS[0] });
    t = await startTestEngine({ backend: 'redis', dags: [creditPlatform] });
  });
  afterAll(async () => {
    await t?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Every row of day d's noisy extract loaded, every value exactly as written (checked right after its run). */
  const expectEveryRowAsWritten = async (d: number): Promise<void> => {
    const extract = truth.extracts[d];
    const files = await recountW2(path.join(dir, 'data'), DAYS[d].replaceAll('-', ''));
    const held = await warehouseNumbers(t.database.pool);
    // Rows: what the files hold less null and repeated keys (recounted from the CSV), nothing else refused.
    expect(files.rows).toEqual(Object.fromEntries(Object.entries(extract.files).map(([name, f]) => [name, f.rows])));
    expect(await tableRowCounts(t.database.pool)).toEqual(files.loadedRows);
    expect(held.otherRefusals).toBe(0);
    // Money is unconstrained numeric; each column's sum equals the exact sum of the file's values.
    expect(Object.values(held.types).every((type) => type === 'numeric')).toBe(true);
    expect(Object.keys(held.sums).sort()).toEqual(Object.keys(files.sums).sort());
    for (const [column, sum] of Object.entries(held.sums)) expect(exact(sum), column).toBe(files.sums[column]);
    // The planted formats are in the warehouse as written, and none of them is a failure.
    expect(held.formats).toEqual(extract.number_formats);
    expect(held.formats).toEqual(files.formats);
    expect(held.itemsOffByNoise).toBe(extract.items_off_by_noise);
    expect(held.feesOpposite).toBe(extract.fees_signed_opposite);
    expect(extract.items_off_by_noise).toBeGreaterThan(10);
    expect(extract.fees_signed_opposite).toBeGreaterThan(10);
    expect(extract.number_formats.invoice_items!.float_noise).toBeGreaterThan(10);
    expect(extract.number_formats.invoice_items!.extra_decimals).toBeGreaterThan(10);
    expect(extract.number_formats.invoices!.negative_zero).toBeGreaterThan(10);
  };

  it.each([0, 1])('day %i: every row loads as written; every check, reconciliation and table count equals the truth', async (d) => {
    runs[d] = await runDay(DAYS[d]);
    const extract = truth.extracts[d];
    const found = await runFindings(t.database.pool, runs[d]);
    expect(truthDifferences(found, extract)).toEqual([]);
    expect(found.reconciliations.file_rows_accounted).toBe(0);
    expect(Object.keys(found.checks).sort()).toEqual(Object.keys(extract.checks).sort());
    expect(await tableRowCounts(t.database.pool)).toEqual(expectedRowCounts(extract));
    await expectEveryRowAsWritten(d);
    // Real dirt was planted and found, so the comparison above is not a comparison of zeros.
    expect(extract.checks.leads_after_signup).toBeGreaterThan(0);
    expect(extract.checks.not_null_leads + extract.checks.unique_wallet_transactions).toBeGreaterThan(0);
  });

  it('writes the scorecard, the checks report and seller health, consistent with the run', async () => {
    const day = DAYS[1].replaceAll('-', '');
    const reports = path.join(dir, 'reports');
    const extract = truth.extracts[1];
    const scorecard = await readRecords(path.join(reports, `credit_platform_scorecard_${day}.csv`));
    const rows = expectedRowCounts(extract);
    expect(scorecard.map((r) => [r.table, r.status, Number(r.file_rows), Number(r.total_rows)])).toEqual(
      Object.entries(rows).map(([table, n]) => [table, 'scored', extract.files[table as keyof typeof rows].rows, n]),
    );
    for (const r of scorecard) {
      const file = extract.files[r.table as keyof typeof rows];
      // Refused rows are rows with issues, scored beside the table's rows.
      expect(Number(r.rows_refused_at_load), r.table).toBe(file.null_key_rows + file.duplicate_key_rows);
      expect(Number(r.rows_scored)).toBe(Number(r.total_rows) + Number(r.rows_refused_at_load));
      expect(Number(r.clean_rows) + Number(r.rows_with_issues)).toBe(Number(r.rows_scored));
      expect(Number(r.rows_with_issues)).toBeGreaterThanOrEqual(Number(r.rows_refused_at_load));
      expect(Number(r.score_percent)).toBeGreaterThanOrEqual(0);
      expect(Number(r.score_percent)).toBeLessThanOrEqual(100);
    }
    expect(scorecard.some((r) => Number(r.rows_refused_at_load) > 0)).toBe(true);
    const checks = await readCsv(path.join(reports, `credit_platform_checks_${day}.csv`));
    const failing = Object.fromEntries(checks.rows.map((r) => [r[1], Number(r[6])]));
    expect(failing).toMatchObject({ ...extract.checks, ...extract.reconciliations, file_rows_accounted: 0 });

    const health = await readCsv(path.join(reports, `credit_platform_seller_health_${day}.csv`));
    const sellers = await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM credit_platform.sellers');
    expect(health.rows).toHaveLength(sellers.rows[0].n);
    const col = (name: string) => health.header.indexOf(name);
    for (const r of health.rows) {
      expect(Number(r[col('health_score')])).toBeGreaterThanOrEqual(0);
      expect(Number(r[col('health_score')])).toBeLessThanOrEqual(100);
      expect(['low', 'medium', 'high']).toContain(r[col('risk_level')]);
      expect(r[col('amounts_without_rate')]).toBe('0');
    }
    // The planted over-limit sellers are high risk.
    const overLimit = health.rows.filter((r) => Number(r[col('credit_utilisation')]) > 1);
    expect(overLimit.length).toBe(extract.checks.sellers_within_limit);
    for (const r of overLimit) expect(r[col('risk_level')]).toBe('high');
  });

  it('re-running a day, and re-loading files the ledger forgot, changes nothing', async () => {
    const before = await tableChecksums(t.database.pool);
    await rerun(runs[0]); // the ledger skips files it already holds
    expect(await tableChecksums(t.database.pool)).toEqual(before);
    await t.database.pool.query('DELETE FROM load_ledger');
    await rerun(runs[0]); // every day-1 file upserted again over day 2's rows
    await rerun(runs[1]); // and every day-2 file
    expect(await tableChecksums(t.database.pool)).toEqual(before);
    const loaded = await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM load_ledger');
    expect(loaded.rows[0].n).toBe(14); // ten day-1 files, and the four tables whose day-2 file differs
    expect(truthDifferences(await runFindings(t.database.pool, runs[1]), truth.extracts[1])).toEqual([]);
  });
});
