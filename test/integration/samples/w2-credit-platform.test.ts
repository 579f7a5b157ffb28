import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCreditPlatform } from '../../../samples/w2-credit-platform.ts';
import { W2_REAL_COUNTS } from '../../../samples/w2-schema.ts';
import { readCsv } from './csv-reader.ts';
import { directoryBytes, useTempDir } from './temp-dirs.ts';
import { recountW2 } from './w2-recount.ts';

describe('W2 credit platform generator', () => {
  const tmpDir = useTempDir('w2');

  it('is deterministic: same seed, byte-identical files', async () => {
    await generateCreditPlatform({ dir: path.join(tmpDir(), 'a'), seed: 3, size: 0.05, days: 2 });
    await generateCreditPlatform({ dir: path.join(tmpDir(), 'b'), seed: 3, size: 0.05, days: 2 });
    const a = await directoryBytes(path.join(tmpDir(), 'a'));
    expect(a.size).toBe(21);
    expect(await directoryBytes(path.join(tmpDir(), 'b'))).toEqual(a);
  });

  it('writes the real row counts at size 1 and a truth that an independent recount confirms', async () => {
    const dir = path.join(tmpDir(), 'real');
    const truth = await generateCreditPlatform({ dir, seed: 1, size: 1 });
    expect(JSON.parse(await fs.readFile(path.join(dir, 'truth.json'), 'utf8'))).toEqual(truth);
    const [extract] = truth.extracts;
    const got = await recountW2(dir, '20250513');
    expect(got.rows).toEqual(W2_REAL_COUNTS);
    expect(Object.fromEntries(Object.entries(extract.files).map(([t, f]) => [t, f.rows]))).toEqual(W2_REAL_COUNTS);
    expect(got.checks).toEqual(extract.checks);
    expect(got.recon).toEqual(extract.reconciliations);
    expect(got.nearMisses).toBe(extract.near_misses_within_tolerance);
    expect(got.offByNoise).toBe(extract.items_off_by_noise);
    expect(got.feesOpposite).toBe(extract.fees_signed_opposite);
    expect(got.formats).toEqual(extract.number_formats);
    // The real extract's formats, at about its rates: ~9% of invoices, ~5.5% of items, ~4.6% of wallet rows.
    expect(extract.items_off_by_noise).toBeGreaterThan(5000);
    expect(extract.fees_signed_opposite).toBeGreaterThan(5000);
    for (const table of ['invoices', 'invoice_items', 'wallet_transactions'] as const) {
      const f = extract.number_formats[table]!;
      expect(f.float_noise, table).toBeGreaterThan(500);
      expect(f.extra_decimals, table).toBeGreaterThan(500);
    }
    expect(Number(truth.credit_amount_p99)).toBeCloseTo(got.p99 / 100, 4);
    // Every check and reconciliation is listed; the planted ones fail, "thousands" of early leads.
    expect(Object.keys(extract.checks)).toEqual(truth.check_definitions.map((c) => c.name));
    expect(extract.checks.leads_after_signup).toBeGreaterThanOrEqual(1000);
    for (const name of ['fk_credits_seller', 'credits_due_after_issue', 'sellers_within_limit', 'unique_leads', 'not_null_wallet_transactions']) {
      expect(extract.checks[name]).toBeGreaterThan(0);
    }
    for (const n of Object.values(extract.reconciliations)) expect(n).toBeGreaterThan(0);
    expect(extract.checks.unique_sellers).toBe(0);
  });

  it('writes the dirty formats of the real extracts', async () => {
    const dir = path.join(tmpDir(), 'real');
    const sellers = await fs.readFile(path.join(dir, 'sellers_20250513.csv'), 'utf8');
    expect(sellers).toMatch(/\n\d+,"[^"\n]*, [^"\n]*",/); // a quoted name with a comma
    expect(sellers).toMatch(/"Souq ""/); // and one with quotes
    const credits = await readCsv(path.join(dir, 'credits_20250513.csv'));
    expect(credits.rows[0][3]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
    const invoices = await fs.readFile(path.join(dir, 'invoices_20250513.csv'), 'utf8');
    expect(invoices).toContain(',-0.0,');
    expect(invoices).toMatch(/,\d+\.\d{4},/);
    expect(invoices).toMatch(/,\d+\.\d{2,4}0{5,}[1-4][,\n]/); // float noise up: 1345.6800000000003
    expect(invoices).toMatch(/,\d+\.\d{0,4}9{5,}[6-9][,\n]/); // and down: 1345.6799999999998
    expect(invoices).toMatch(/,\d+\.\d{5,6}[,\n]/); // 5–6 decimals: 1130.53997, 59.480004
    const items = await fs.readFile(path.join(dir, 'invoice_items_20250513.csv'), 'utf8');
    expect(items).toMatch(/,fees,-\d+\.\d+\n/); // a fee written as a deduction
  });

  it('writes daily snapshots that only grow, each with its own confirmed truth', async () => {
    const dir = path.join(tmpDir(), 'days');
    const truth = await generateCreditPlatform({ dir, seed: 8, size: 0.05, days: 3, startDate: '2025-06-01' });
    expect(truth.extracts.map((e) => e.date)).toEqual(['2025-06-01', '2025-06-02', '2025-06-03']);
    for (const extract of truth.extracts) {
      const got = await recountW2(dir, extract.date.replaceAll('-', ''));
      expect(got.checks).toEqual(extract.checks);
      expect(got.recon).toEqual(extract.reconciliations);
      expect([got.offByNoise, got.feesOpposite, got.formats]).toEqual([extract.items_off_by_noise, extract.fees_signed_opposite, extract.number_formats]);
    }
    expect(truth.extracts[2].rows).toBeGreaterThan(truth.extracts[0].rows);
    for (const table of ['leads', 'invoices', 'invoice_items', 'wallet_transactions']) {
      const before = (await fs.readFile(path.join(dir, `${table}_20250601.csv`), 'utf8')).split('\n');
      const after = new Set((await fs.readFile(path.join(dir, `${table}_20250603.csv`), 'utf8')).split('\n'));
      for (const line of before) expect(after.has(line)).toBe(true);
    }
  });

  it('refuses sizes too small to plant every defect with a clear error', async () => {
    await expect(generateCreditPlatform({ dir: tmpDir(), size: 0.001 })).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
  });
});
