/**
 * Migration 0006_multi_currency on a database holding the credit platform, loaded through the DAG
 * before the migration existed: applying it keeps every row and checksum, loads and quality
 * reports give the same output, seller health converts a non-USD amount with the rate effective
 * on its date; the down migration refuses while non-USD amounts exist, then rolls back keeping
 * every row; applying it again works.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackMigration, runMigrations } from '../../../db/migrate.ts';
import { clearTasks, triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { generateCreditPlatform } from '../../../samples/w2-credit-platform.ts';
import creditPlatform from '../../../schedules/credit_platform.ts';
import { CREDIT_TABLES, type CreditTable } from '../../../schedules/credit_platform/model.ts';
import { readCsv } from '../samples/csv-reader.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { tableChecksums, tableRowCounts } from './credit-platform.ts';

const TAG = '0006_multi_currency';
const DAY = '2025-05-13';

/** The DAG as it ran before multi-currency: everything but the USD seller-health report. */
const withoutCurrency: DagSpec = {
  ...creditPlatform,
  id: 'credit_platform_before_currency',
  tasks: Object.fromEntries(Object.entries(creditPlatform.tasks).filter(([id]) => id !== 'report_seller_health')),
};

describe('multi-currency migration on a loaded credit platform', () => {
  let t: TestEngine;
  let dir: string;
  let columns: Record<CreditTable, string[]>;
  const params = () => ({ dataDir: path.join(dir, 'data'), reportDir: path.join(dir, 'reports') });
  const dag = (id: string) => t.dags.get(id)!;
  const query = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await t.database.pool.query<T>(sql, values)).rows;
  const currencyColumns = async () =>
    (await query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'credit_platform' AND column_name = 'currency' ORDER BY 1`,
    )).map((r) => r.table_name);
  const qualityReports = async () => {
    const files = ['scorecard', 'checks'].map((r) => path.join(dir, 'reports', `credit_platform_${r}_${DAY.replaceAll('-', '')}.csv`));
    return Promise.all(files.map((f) => fs.readFile(f, 'utf8')));
  };
  const sellerHealth = async (sellerId: number) => {
    const file = await readCsv(path.join(dir, 'reports', `credit_platform_seller_health_${DAY.replaceAll('-', '')}.csv`));
    const row = file.rows.find((r) => r[0] === String(sellerId))!;
    return Object.fromEntries(file.header.map((h, i) => [h, row[i]]));
  };
  const rerun = async (runId: number, dagId: string, task: string, downstream: boolean) => {
    await clearTasks(t.engine.pool, t.engine.dispatcher, dag(dagId), runId, task, downstream);
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
  };

  let runBefore: number;
  let counts: Record<CreditTable, number>;
  let sums: Record<CreditTable, string>;
  let reports: string[];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'w2-currency-'));
    await generateCreditPlatform({ dir: path.join(dir, 'data'), seed: 11, size: 0.05, startDate: DAY });
    t = await startTestEngine({ backend: 'redis', dags: [creditPlatform, withoutCurrency] });
    await rollbackMigration(t.database, TAG); // the database as it was before the migration
    expect(await currencyColumns()).toEqual([]);
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag(withoutCurrency.id), { date: DAY, params: params() });
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
    runBefore = runId;
    counts = await tableRowCounts(t.database.pool);
    sums = await tableChecksums(t.database.pool);
    reports = await qualityReports();
    columns = Object.fromEntries(await Promise.all(CREDIT_TABLES.map(async (table) => [table, (await query<{ c: string }>(
      `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'credit_platform' AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    )).map((r) => r.c)]))) as Record<CreditTable, string[]>;
  });
  afterAll(async () => {
    await t?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('applies on the loaded tables: rows, data, loads and quality reports unchanged', async () => {
    expect(counts.invoice_items).toBeGreaterThan(1000);
    await runMigrations(t.database);
    expect(await currencyColumns()).toEqual(['credits', 'invoice_items', 'invoices', 'leads', 'sellers', 'wallet_transactions']);
    expect(await tableRowCounts(t.database.pool)).toEqual(counts);
    expect(await tableChecksums(t.database.pool, columns)).toEqual(sums);
    const [{ n }] = await query<{ n: number }>(`SELECT count(*)::int AS n FROM credit_platform.leads WHERE currency <> 'USD'`);
    expect(n).toBe(0);
    // The same loads (ledger forgotten, so every file loads again), checks and reports, on the new tables.
    await query('DELETE FROM load_ledger');
    await rerun(runBefore, withoutCurrency.id, 'extracts', true);
    const [{ loaded }] = await query<{ loaded: number }>(`SELECT count(*)::int AS loaded FROM load_ledger`);
    expect(loaded).toBe(10);
    expect(await tableChecksums(t.database.pool, columns)).toEqual(sums);
    expect(await qualityReports()).toEqual(reports);
  });

  it('seller health converts a non-USD amount with the latest rate effective on its date', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag('credit_platform'), { date: DAY, params: params() });
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
    const [credit] = await query<{ credit_id: number; seller_id: number; amount: string; issued: string }>(
      `SELECT credit_id, seller_id, amount::text, issue_date::date::text AS issued FROM credit_platform.credits
       WHERE status NOT IN ('Cancelled') AND seller_id IN (SELECT seller_id FROM credit_platform.sellers) ORDER BY credit_id LIMIT 1`,
    );
    const before = await sellerHealth(credit.seller_id);
    expect(before.amounts_without_rate).toBe('0');
    await query(`INSERT INTO credit_platform.currencies (code, name) VALUES ('AED', 'UAE dirham')`);
    await query(
      `INSERT INTO credit_platform.exchange_rates (from_currency, to_currency, effective_date, rate) VALUES
         ('AED', 'USD', $1::date - 30, 0.2700), ('AED', 'USD', $1::date - 1, 0.2723), ('AED', 'USD', $1::date + 1, 0.9999)`,
      [credit.issued],
    );
    await query(`UPDATE credit_platform.credits SET currency = 'AED' WHERE credit_id = $1`, [credit.credit_id]);
    await rerun(runId, 'credit_platform', 'report_seller_health', false);
    const after = await sellerHealth(credit.seller_id);
    const [{ expected }] = await query<{ expected: string }>('SELECT round($1::numeric - $2::numeric + $2::numeric * 0.2723, 2)::text AS expected', [
      before.open_credit_usd, credit.amount,
    ]);
    expect(after.open_credit_usd).toBe(expected);
    expect(after.open_credit_usd).not.toBe(before.open_credit_usd);
    expect(after.credit_limit_usd).toBe(before.credit_limit_usd); // USD → USD is 1
    // A currency without any rate is counted, not guessed.
    await query(`UPDATE credit_platform.credits SET currency = 'XOF' WHERE credit_id = $1`, [credit.credit_id]);
    await rerun(runId, 'credit_platform', 'report_seller_health', false);
    expect((await sellerHealth(credit.seller_id)).amounts_without_rate).toBe('1');
  });

  it('rolls back keeping every row (refusing while amounts are not in USD), and applies again', async () => {
    await expect(rollbackMigration(t.database, TAG)).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    expect(await currencyColumns()).toHaveLength(6); // nothing changed
    await query(`UPDATE credit_platform.credits SET currency = 'USD' WHERE currency <> 'USD'`);
    await rollbackMigration(t.database, TAG);
    expect(await currencyColumns()).toEqual([]);
    const [{ rates }] = await query<{ rates: string | null }>(`SELECT to_regclass('credit_platform.exchange_rates')::text AS rates`);
    expect(rates).toBeNull();
    expect(await tableRowCounts(t.database.pool)).toEqual(counts);
    expect(await tableChecksums(t.database.pool)).toEqual(sums);
    await runMigrations(t.database);
    expect(await currencyColumns()).toHaveLength(6);
    expect(await tableChecksums(t.database.pool, columns)).toEqual(sums);
    await rerun(runBefore, withoutCurrency.id, 'validate', true);
  });
});
