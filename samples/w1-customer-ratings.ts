/**
 * W1 generator: one CSV per agency per day (`<agency>_YYYYMMDD.csv`, `size` data rows each) with
 * exact counts of planted defects; returns and writes truth.json (defects per file + the expected
 * Customer_Rating_Aggregate_Report rows per day). Same seed → byte-identical files.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CsvFileWriter, csvLine } from './csv-writer.ts';
import { compactDay, DAY_MS, isoDay, parseDay, percent2 } from './format.ts';
import { generatorOptions, parseOptions, writeTruth } from './options.ts';
import { DefectPlan } from './plan.ts';
import { createRandom, deriveSeed, type Random } from './random.ts';

export const W1_HEADER = ['customer_number', 'customer_rating', 'customer_rating_limit', 'customer_status'] as const;

/** Each planted row has exactly one of these kinds; every one of them is a rejected row. */
export const W1_DEFECT_KINDS = [
  'customer_number_not_positive',
  'rating_not_integer',
  'limit_negative',
  'status_empty',
  'status_too_long',
  'wrong_field_count',
  'three_bad_columns',
] as const;
export type W1DefectKind = (typeof W1_DEFECT_KINDS)[number];

/** Valid statuses (all ≤ 25 chars; the last one is exactly 25, a boundary that must load). */
const STATUSES: ReadonlyArray<readonly [string, number]> = [
  ['active', 40],
  ['high-value', 15],
  ['inactive', 15],
  ['new', 12],
  ['dormant', 8],
  ['at-risk', 7],
  ['pending-verification-2025', 3],
];
const TOO_LONG = ['high-value-customer-under-review', 'inactive-pending-account-closure', 'suspended-awaiting-documentation'];

export const customerRatingsOptions = generatorOptions.extend({
  /** @default 1000 — data rows per agency file */
  size: z.number().int().min(1).max(50_000_000).default(1000),
  /** @default ['acme', 'globex', 'initech'] */
  agencies: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)).min(1).default(['acme', 'globex', 'initech']),
});
export type CustomerRatingsOptions = z.input<typeof customerRatingsOptions>;

export interface W1ReportRow {
  agency: string;
  count_customer_number: number;
  sum_customer_rating: number;
  high_value_count: number;
  invalid_customer_number_count: number;
  invalid_customer_number_percent: string;
}

export interface W1FileTruth {
  file: string;
  agency: string;
  date: string;
  rows: number;
  valid: number;
  rejected: number;
  defects: Record<W1DefectKind, number>;
}

export interface W1Truth {
  workload: 'w1_customer_ratings';
  seed: number;
  size: number;
  days: number;
  startDate: string;
  agencies: string[];
  defect_kinds: readonly W1DefectKind[];
  files: W1FileTruth[];
  /** Keyed by YYYYMMDD: the report file name and its rows (one per agency, sorted by agency). */
  reports: Record<string, { file: string; rows: W1ReportRow[] }>;
  totals: { rows: number; valid: number; rejected: number; defects: Record<W1DefectKind, number> };
}

/** Exact defect counts for one file: ~0.4% of rows per kind, at least one of each when it fits. */
function plannedCounts(random: Random, size: number): Record<W1DefectKind, number> {
  const counts = {} as Record<W1DefectKind, number>;
  const fitsAll = size >= 2 * W1_DEFECT_KINDS.length;
  W1_DEFECT_KINDS.forEach((kind, i) => {
    counts[kind] = fitsAll ? Math.max(1, Math.round(size * 0.004 * (0.5 + random.next()))) : i < size / 3 ? 1 : 0;
  });
  return counts;
}

interface Row {
  fields: string[];
  rating: number;
  highValue: boolean;
}

function cleanRow(random: Random, customerNumber: number): Row {
  const rating = random.chance(0.03) ? 0 : random.int(1, 100);
  const status = random.weighted(STATUSES);
  const limit = random.chance(0.03) ? 0 : random.int(1, 200) * 50;
  return { fields: [String(customerNumber), String(rating), String(limit), status], rating, highValue: status === 'high-value' };
}

/** The raw CSV line of a planted defect row built from a clean row's fields. */
function defectLine(random: Random, kind: W1DefectKind, f: string[]): string {
  const [num, rating, limit, status] = f;
  switch (kind) {
    case 'customer_number_not_positive':
      return csvLine([random.chance(0.4) ? '0' : `-${random.int(1, 99999)}`, rating, limit, status]);
    case 'rating_not_integer':
      return csvLine([num, random.pick(['abc', '1.5', 'N/A', '7.25', 'ten']), limit, status]);
    case 'limit_negative':
      return csvLine([num, rating, `-${random.int(1, 200) * 25}`, status]);
    case 'status_empty':
      return csvLine([num, rating, limit, '']);
    case 'status_too_long':
      return csvLine([num, rating, limit, random.pick(TOO_LONG)]);
    case 'wrong_field_count':
      return random.chance(0.5) ? csvLine([num, rating, limit]) : csvLine([num, rating, limit, status, 'extra']);
    case 'three_bad_columns':
      return csvLine([`-${random.int(1, 999)}`, 'abc', `-${random.int(1, 99)}`, status]);
  }
}

async function writeAgencyFile(
  file: string,
  random: Random,
  size: number,
  agencyIndex: number,
): Promise<{ defects: Record<W1DefectKind, number>; valid: number; sum: number; highValue: number }> {
  const defects = plannedCounts(random, size);
  const plan = new DefectPlan(random, size, defects);
  const writer = await CsvFileWriter.open(file, W1_HEADER);
  let valid = 0;
  let sum = 0;
  let highValue = 0;
  for (let i = 0; i < size; i++) {
    const row = cleanRow(random, 100_000 + i * 3 + agencyIndex);
    const kind = plan.next();
    if (kind === null) {
      valid++;
      sum += row.rating;
      if (row.highValue) highValue++;
      await writer.row(row.fields);
    } else {
      await writer.raw(defectLine(random, kind, row.fields));
    }
  }
  await writer.close();
  return { defects, valid, sum, highValue };
}

function zeroDefects(): Record<W1DefectKind, number> {
  return Object.fromEntries(W1_DEFECT_KINDS.map((k) => [k, 0])) as Record<W1DefectKind, number>;
}

/** Writes every agency file for every day plus truth.json; returns the truth. */
export async function generateCustomerRatings(raw: CustomerRatingsOptions): Promise<W1Truth> {
  const o = parseOptions(customerRatingsOptions, raw, 'w1 customer ratings');
  await fs.mkdir(o.dir, { recursive: true });
  const agencies = [...o.agencies].sort();
  const start = parseDay(o.startDate);
  const truth: W1Truth = {
    workload: 'w1_customer_ratings',
    seed: o.seed,
    size: o.size,
    days: o.days,
    startDate: o.startDate,
    agencies,
    defect_kinds: W1_DEFECT_KINDS,
    files: [],
    reports: {},
    totals: { rows: 0, valid: 0, rejected: 0, defects: zeroDefects() },
  };
  for (let d = 0; d < o.days; d++) {
    const day = start + d * DAY_MS;
    const rows: W1ReportRow[] = [];
    for (const [a, agency] of agencies.entries()) {
      const file = `${agency}_${compactDay(day)}.csv`;
      const random = createRandom(deriveSeed(o.seed, 'w1', agency, d));
      const r = await writeAgencyFile(path.join(o.dir, file), random, o.size, a);
      const rejected = o.size - r.valid;
      truth.files.push({ file, agency, date: isoDay(day), rows: o.size, valid: r.valid, rejected, defects: r.defects });
      rows.push({
        agency,
        count_customer_number: r.valid,
        sum_customer_rating: r.sum,
        high_value_count: r.highValue,
        invalid_customer_number_count: rejected,
        invalid_customer_number_percent: percent2(rejected, o.size),
      });
      truth.totals.rows += o.size;
      truth.totals.valid += r.valid;
      truth.totals.rejected += rejected;
      for (const k of W1_DEFECT_KINDS) truth.totals.defects[k] += r.defects[k];
    }
    truth.reports[compactDay(day)] = { file: `Customer_Rating_Aggregate_Report_${compactDay(day)}.csv`, rows };
  }
  await writeTruth(o.dir, truth);
  return truth;
}
