import fs from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateMerchantActivity, W3_DEFECT_KINDS, W3_EVENT_TYPES, type W3DefectKind } from '../../../samples/w3-merchant-activity.ts';
import type { W3Reports } from '../../../samples/w3-reports.ts';
import { readCsv, toUnits } from './csv-reader.ts';
import { directoryBytes, useTempDir } from './temp-dirs.ts';

const execFileAsync = promisify(execFile);
const PRODUCTS = Object.keys(W3_EVENT_TYPES);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Independent classification of one row that is not a repeat of a seen event_id. */
function valueDefect(f: string[]): W3DefectKind | 'coerced' | null {
  const [, merchant, ts, product, type, amount, status, channel, , tier] = f;
  expect(merchant).toMatch(/^MRC-\d{6}$/);
  if (ts === '') return 'timestamp_empty';
  if (!ISO.test(ts) || Number.isNaN(Date.parse(ts))) return 'timestamp_malformed';
  if (!PRODUCTS.includes(product)) return 'product_invalid';
  if (!W3_EVENT_TYPES[product as keyof typeof W3_EVENT_TYPES].includes(type)) return 'event_type_invalid';
  if (!['SUCCESS', 'FAILED', 'PENDING'].includes(status)) return 'status_invalid';
  if (!['POS', 'APP', 'USSD', 'WEB', 'OFFLINE'].includes(channel)) return 'channel_invalid';
  if (!['STARTER', 'VERIFIED', 'PREMIUM'].includes(tier)) return 'tier_invalid';
  if (/^\d{1,3}(,\d{3})+\.\d{2}$/.test(amount)) return 'coerced';
  if (/^-\d+(\.\d+)?$/.test(amount)) return 'amount_negative';
  if (!/^\d+\.\d{2}$/.test(amount)) return 'amount_text';
  return null;
}

/** Recounts every file in order and recomputes the five reports from the loaded events. */
async function recount(dir: string, files: string[]) {
  const seen = new Set<string>();
  const perFile = [];
  const success = new Map<string, number>();
  const months = new Map<string, Set<string>>();
  const adoption = new Map<string, Set<string>>();
  const funnel = new Map<string, Set<string>>();
  const outcomes = new Map<string, { s: number; f: number; p: number }>();
  for (const file of files) {
    const { rows } = await readCsv(path.join(dir, file));
    const inFile = new Set<string>();
    const defects = Object.fromEntries(W3_DEFECT_KINDS.map((k) => [k, 0])) as Record<W3DefectKind, number>;
    let loaded = 0;
    for (const f of rows) {
      expect(f).toHaveLength(10);
      const id = f[0];
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      if (inFile.has(id)) defects.duplicate_event_id++;
      else if (seen.has(id)) defects.repeated_event_id++;
      inFile.add(id);
      if (seen.has(id)) continue;
      seen.add(id);
      const kind = valueDefect(f);
      if (kind !== null && kind !== 'coerced') {
        defects[kind]++;
        continue;
      }
      if (kind === 'coerced') defects.amount_thousands_separator++;
      loaded++;
      const [, merchant, ts, product, type, amount, status] = f;
      const cents = toUnits(amount.replaceAll(',', ''), 2);
      const bump = <T>(m: Map<string, Set<T>>, k: string, v: T) => m.set(k, (m.get(k) ?? new Set<T>()).add(v));
      bump(adoption, product, merchant);
      const o = outcomes.get(product) ?? { s: 0, f: 0, p: 0 };
      outcomes.set(product, o);
      if (status === 'SUCCESS') {
        o.s++;
        success.set(merchant, (success.get(merchant) ?? 0) + cents);
        bump(months, ts.slice(0, 7), merchant);
        if (product === 'KYC') bump(funnel, type, merchant);
      } else if (status === 'FAILED') o.f++;
      else o.p++;
    }
    perFile.push({ rows: rows.length, loaded, defects });
  }
  const top = [...success].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
  const reports: Omit<W3Reports, 'failure_rate_by_product'> & { failure: Array<[string, number, number, number]> } = {
    top_merchant_by_success_amount: { merchant_id: top[0][0], total_success_amount: (top[0][1] / 100).toFixed(2) },
    top_merchants_by_success_amount: top.map(([m, c]) => ({ merchant_id: m, total_success_amount: (c / 100).toFixed(2) })),
    monthly_active_merchants: [...months].sort().map(([month, s]) => ({ month, active_merchants: s.size })),
    product_adoption: [...adoption].map(([product, s]) => ({ product, merchants: s.size })).sort((a, b) => b.merchants - a.merchants || (a.product < b.product ? -1 : 1)),
    kyc_funnel: ['DOCUMENT_SUBMITTED', 'VERIFICATION_COMPLETED', 'TIER_UPGRADE'].map((stage) => ({ stage, merchants: funnel.get(stage)?.size ?? 0 })),
    failure: [...outcomes].map(([p, o]) => [p, o.s, o.f, o.p]),
  };
  return { perFile, reports, unique: seen.size };
}

describe('W3 merchant activity generator', () => {
  const tmpDir = useTempDir('w3');

  it('is deterministic: same seed, byte-identical files', async () => {
    const opts = { seed: 2, size: 800, days: 2 };
    await generateMerchantActivity({ dir: path.join(tmpDir(), 'a'), ...opts });
    await generateMerchantActivity({ dir: path.join(tmpDir(), 'b'), ...opts });
    const a = await directoryBytes(path.join(tmpDir(), 'a'));
    expect([...a.keys()]).toEqual(['activities_20250513.csv', 'activities_20250514.csv', 'truth.json']);
    expect(await directoryBytes(path.join(tmpDir(), 'b'))).toEqual(a);
  });

  it('writes a truth (per-file defects and the five reports) that an independent recount confirms', async () => {
    const dir = path.join(tmpDir(), 'recount');
    // Three days across a month boundary, so monthly actives have two months.
    const truth = await generateMerchantActivity({ dir, seed: 4, size: 3000, days: 3, startDate: '2025-05-30' });
    expect(JSON.parse(await fs.readFile(path.join(dir, 'truth.json'), 'utf8'))).toEqual(truth);
    const got = await recount(dir, truth.files.map((f) => f.file));
    truth.files.forEach((f, i) => {
      expect(got.perFile[i].rows).toBe(f.rows);
      expect(got.perFile[i].defects).toEqual(f.defects);
      expect(got.perFile[i].loaded).toBe(f.loaded);
      expect(f.loaded + f.rejected + f.deduplicated).toBe(f.rows);
      for (const k of W3_DEFECT_KINDS) if (k !== 'repeated_event_id' || i > 0) expect(f.defects[k]).toBeGreaterThan(0);
    });
    expect(truth.files[0].defects.repeated_event_id).toBe(0);
    expect(got.unique).toBe(truth.unique_valid_events + truth.totals.rejected);
    const { failure, ...reports } = got.reports;
    const { failure_rate_by_product: rates, ...expected } = truth.reports;
    expect(reports).toEqual(expected);
    expect(expected.monthly_active_merchants.map((m) => m.month)).toEqual(['2025-05', '2025-06']);
    expect(rates.map((r) => [r.product, r.success, r.failed, r.pending]).sort()).toEqual(failure.sort());
    const asNumber = rates.map((r) => Number(r.failure_rate));
    expect([...asNumber].sort((a, b) => b - a)).toEqual(asNumber);
    for (const r of rates) expect(Number(r.failure_rate)).toBeCloseTo(r.failed / (r.failed + r.success), 4);
    const f = truth.reports.kyc_funnel.map((s) => s.merchants);
    expect(f[0]).toBeGreaterThanOrEqual(f[1]);
    expect(f[1]).toBeGreaterThanOrEqual(f[2]);
  });

  it('streams: writes a file twice the size of a capped heap', async () => {
    const dir = path.join(tmpDir(), 'big');
    // A child with a 24 MB old-space cap: holding the rows of a 50 MB file would abort it.
    const script = `import('./samples/w3-merchant-activity.ts').then((m) => m.generateMerchantActivity({ dir: ${JSON.stringify(dir)}, seed: 1, size: 400000 }))`;
    await execFileAsync(process.execPath, ['--max-old-space-size=24', '--import', 'tsx', '-e', script], { cwd: process.cwd() });
    const bytes = (await fs.stat(path.join(dir, 'activities_20250513.csv'))).size;
    expect(bytes).toBeGreaterThan(48 * 2 ** 20);
  });
});
