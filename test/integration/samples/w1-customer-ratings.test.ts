import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCustomerRatings, W1_DEFECT_KINDS, type W1DefectKind, type W1ReportRow } from '../../../samples/w1-customer-ratings.ts';
import { readCsv } from './csv-reader.ts';
import { directoryBytes, useTempDir } from './temp-dirs.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../../samples/fixtures/w1');

/** Independent W1 rules (WORKLOADS.md): which columns of a 4-field row fail. */
function failingColumns(f: string[]): string[] {
  const bad: string[] = [];
  const int = (s: string): boolean => /^-?\d+$/.test(s);
  if (!int(f[0]) || Number(f[0]) <= 0) bad.push('customer_number');
  if (!int(f[1]) || Number(f[1]) < 0) bad.push('customer_rating');
  if (!int(f[2]) || Number(f[2]) < 0) bad.push('customer_rating_limit');
  if (f[3] === '' || f[3].length > 25) bad.push('customer_status');
  return bad;
}

function kindOf(f: string[]): W1DefectKind | null {
  if (f.length !== 4) return 'wrong_field_count';
  const bad = failingColumns(f);
  if (bad.length === 0) return null;
  if (bad.length >= 3) return 'three_bad_columns';
  expect(bad).toHaveLength(1);
  if (bad[0] === 'customer_number') return 'customer_number_not_positive';
  if (bad[0] === 'customer_rating') return 'rating_not_integer';
  if (bad[0] === 'customer_rating_limit') return 'limit_negative';
  return f[3] === '' ? 'status_empty' : 'status_too_long';
}

/** Recounts one agency file: defect kinds and its expected report row. */
async function recount(file: string, agency: string) {
  const { header, rows } = await readCsv(file);
  expect(header).toEqual(['customer_number', 'customer_rating', 'customer_rating_limit', 'customer_status']);
  const defects = Object.fromEntries(W1_DEFECT_KINDS.map((k) => [k, 0])) as Record<W1DefectKind, number>;
  const report: W1ReportRow = {
    agency, count_customer_number: 0, sum_customer_rating: 0, high_value_count: 0,
    invalid_customer_number_count: 0, invalid_customer_number_percent: '',
  };
  for (const f of rows) {
    const kind = kindOf(f);
    if (kind) {
      defects[kind]++;
      report.invalid_customer_number_count++;
      continue;
    }
    report.count_customer_number++;
    report.sum_customer_rating += Number(f[1]);
    if (f[3] === 'high-value') report.high_value_count++;
  }
  report.invalid_customer_number_percent = ((report.invalid_customer_number_count / rows.length) * 100).toFixed(2);
  return { rows: rows.length, defects, report };
}

describe('W1 customer ratings generator', () => {
  const tmpDir = useTempDir('w1');

  it('is deterministic: the same seed writes byte-identical files, another seed does not', async () => {
    const opts = { seed: 5, size: 300, days: 2, startDate: '2025-05-13' };
    await generateCustomerRatings({ dir: path.join(tmpDir(), 'a'), ...opts });
    await generateCustomerRatings({ dir: path.join(tmpDir(), 'b'), ...opts });
    await generateCustomerRatings({ dir: path.join(tmpDir(), 'c'), ...opts, seed: 6 });
    const a = await directoryBytes(path.join(tmpDir(), 'a'));
    expect([...a.keys()]).toEqual([
      'acme_20250513.csv', 'acme_20250514.csv', 'globex_20250513.csv', 'globex_20250514.csv',
      'initech_20250513.csv', 'initech_20250514.csv', 'truth.json',
    ]);
    expect(await directoryBytes(path.join(tmpDir(), 'b'))).toEqual(a);
    const c = await directoryBytes(path.join(tmpDir(), 'c'));
    expect(c.get('acme_20250513.csv')).not.toEqual(a.get('acme_20250513.csv'));
  });

  it('writes a truth that an independent recount of the files confirms', async () => {
    const dir = path.join(tmpDir(), 'recount');
    const truth = await generateCustomerRatings({ dir, seed: 9, size: 500, days: 2, agencies: ['zeta', 'acme'] });
    expect(JSON.parse(await fs.readFile(path.join(dir, 'truth.json'), 'utf8'))).toEqual(truth);
    expect(truth.files.map((f) => f.file)).toEqual(['acme_20250513.csv', 'zeta_20250513.csv', 'acme_20250514.csv', 'zeta_20250514.csv']);
    for (const f of truth.files) {
      const got = await recount(path.join(dir, f.file), f.agency);
      expect(got.rows).toBe(500);
      expect(got.defects).toEqual(f.defects);
      for (const k of W1_DEFECT_KINDS) expect(f.defects[k]).toBeGreaterThan(0); // every kind planted
      expect(f.valid + f.rejected).toBe(500);
      const day = f.date.replaceAll('-', '');
      expect(truth.reports[day].rows.find((r) => r.agency === f.agency)).toEqual(got.report);
      expect(got.report.high_value_count).toBeGreaterThan(0);
    }
    expect(truth.reports['20250514'].file).toBe('Customer_Rating_Aggregate_Report_20250514.csv');
    expect(truth.totals.rejected).toBe(truth.files.reduce((n, f) => n + f.rejected, 0));
  });

  it('plants what fits in tiny files without failing', async () => {
    const truth = await generateCustomerRatings({ dir: path.join(tmpDir(), 'tiny'), size: 4, agencies: ['acme'] });
    const got = await recount(path.join(tmpDir(), 'tiny', 'acme_20250513.csv'), 'acme');
    expect(got.defects).toEqual(truth.files[0].defects);
    expect(truth.files[0].rejected).toBeLessThanOrEqual(2);
  });

  it('rejects bad options with one clear ARGUMENT_INVALID line', async () => {
    await expect(generateCustomerRatings({ dir: tmpDir(), size: 0 })).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    await expect(generateCustomerRatings({ dir: tmpDir(), agencies: ['Bad Name'] })).rejects.toThrow(/agencies/);
  });

  it('ships a hand-computed fixture whose expected report matches a recount', async () => {
    const expected = await readCsv(path.join(FIXTURES, 'expected_report_20250513.csv'));
    expect(expected.header).toEqual([
      'agency', 'count_customer_number', 'sum_customer_rating', 'high_value_count',
      'invalid_customer_number_count', 'invalid_customer_number_percent',
    ]);
    const fixtureTruth = JSON.parse(await fs.readFile(path.join(FIXTURES, 'truth.json'), 'utf8'));
    for (const [i, agency] of ['acme', 'globex'].entries()) {
      const file = path.join(FIXTURES, `${agency}_20250513.csv`);
      expect((await fs.readFile(file, 'utf8')).split('\n').length).toBeLessThan(50);
      const got = await recount(file, agency);
      const r = got.report;
      expect(expected.rows[i]).toEqual([
        agency, String(r.count_customer_number), String(r.sum_customer_rating), String(r.high_value_count),
        String(r.invalid_customer_number_count), r.invalid_customer_number_percent,
      ]);
      expect(fixtureTruth.files[i].defects).toEqual(got.defects);
      expect(fixtureTruth.reports['20250513'].rows[i]).toEqual(r);
    }
    expect(expected.rows).toHaveLength(2);
  });
});
