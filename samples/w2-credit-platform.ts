/**
 * W2 generator: the ten credit-platform extracts `<table>_YYYYMMDD.csv` per day (each day a full,
 * append-only snapshot: re-loading any day is idempotent), `size` = scale (1.0 = real counts),
 * money written as real extracts write it (w2-noise.ts). Returns and writes truth.json: failing
 * counts per check and reconciliation, and the planted number formats, per daily extract.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CsvFileWriter } from './csv-writer.ts';
import { compactDay, DAY_MS, isoDay, parseDay } from './format.ts';
import { generatorOptions, parseOptions, writeTruth } from './options.ts';
import { createContext, type W2Row } from './w2-context.ts';
import { buildCredits, chatRows, historyRows, type Credit } from './w2-credits.ts';
import { buildPeople, sellerRows } from './w2-people.ts';
import { countItemsOffByNoise, countNumberFormats, plantNumberFormats, type NumberFormatCounts } from './w2-noise.ts';
import { leadRows, salesRows } from './w2-sales.ts';
import {
  ITEM_TYPES, W2_CHECKS, W2_KEYS, W2_NATURAL_KEYS, W2_RECONCILIATIONS, W2_TABLE_ORDER, W2_TABLES,
  type W2CheckDef, type W2ReconciliationDef, type W2Table,
} from './w2-schema.ts';

export const creditPlatformOptions = generatorOptions.extend({
  /** @default 1 — scale factor: 1.0 writes the real row counts (~217,000 rows) */
  size: z.number().min(0.01).max(100).default(1),
});
export type CreditPlatformOptions = z.input<typeof creditPlatformOptions>;

export interface W2FileTruth { file: string; rows: number; null_key_rows: number; duplicate_key_rows: number }

export interface W2ExtractTruth {
  date: string;
  files: Record<W2Table, W2FileTruth>;
  /** Failing count per check name (every check listed, 0 when clean). */
  checks: Record<string, number>;
  /** Failing count per reconciliation name. */
  reconciliations: Record<string, number>;
  /** Items off by 0.0001–0.004 from their invoice column: inside the 0.005 tolerance, NOT failures. */
  near_misses_within_tolerance: number;
  /** Items off from their invoice column only by float noise (under 0.0001): NOT failures. */
  items_off_by_noise: number;
  /** Fee items signed opposite to their invoice's fees: fees reconcile by absolute value, NOT failures. */
  fees_signed_opposite: number;
  /**
   * Per money table, values written as real extracts write them, in the rows the warehouse keeps
   * (not a null or repeated key): float noise (10+ decimals), 5–6 decimals, `-0.0`. All load as written.
   */
  number_formats: Partial<Record<W2Table, NumberFormatCounts>>;
  rows: number;
}

export interface W2Truth {
  workload: 'w2_credit_platform';
  seed: number; size: number; days: number; startDate: string;
  tables: Array<{ table: W2Table; columns: readonly string[]; key: string | null; natural_key: readonly string[] | null }>;
  check_definitions: readonly W2CheckDef[];
  reconciliation_definitions: readonly W2ReconciliationDef[];
  credit_amount_p99: string;
  notes: string[];
  extracts: W2ExtractTruth[];
}

const NOTES = [
  'Counts assume every row with a non-null key is loaded (orphans and bad enum values included) and a repeated key loads once.',
  'Defect rows are otherwise clean; sellers with unknown AM/SAM or a bad market have no credits, leads or invoices, and credits with a bad status have no history or chat, so rejecting them at load orphans nothing.',
  'An invoice_items row with an unknown invoice_id or a bad item_type is one of its invoice\'s five items: that invoice also fails the reconciliation of that column (missing item = sum 0).',
  'A duplicated wallet transaction replaces another invoice\'s transaction: that invoice has none (not a failure of wallet_matches_invoice_total).',
  'Normal sellers have credit_limit >= the sum of ALL their credits, so sellers_within_limit does not depend on how bad credit statuses are treated.',
  'Money values carry the formats of real extracts (float noise, 5-6 decimals, -0.0), each within 0.0001 of its value: they load as written and change no count; fee items may be negative (a deduction), and fees reconcile by absolute value.',
];

/** Tags credits above percentile_cont(0.99) of all credit amounts; returns the percentile (cents). */
function tagOutliers(credits: readonly Credit[]): number {
  const sorted = credits.map((c) => c.amount).sort((a, b) => a - b);
  const pos = 0.99 * (sorted.length - 1);
  const lo = Math.floor(pos);
  const p99 = sorted[lo] + (sorted[Math.ceil(pos)] - sorted[lo]) * (pos - lo);
  for (const c of credits) if (c.amount > p99) c.row.tags.push('credit_amount_outliers');
  return p99;
}

function buildTables(seed: number, size: number, start: number, days: number) {
  const ctx = createContext(seed, size, start, days);
  const people = buildPeople(ctx);
  const credits = buildCredits(ctx, people);
  const p99 = tagOutliers(credits);
  const credit_histories = historyRows(ctx, credits);
  const credit_chat = chatRows(ctx, people, credits);
  const leads = leadRows(ctx, people.sellers);
  const sales = salesRows(ctx, people.sellers);
  const tables: Record<W2Table, W2Row[]> = {
    senior_account_managers: people.sams,
    account_managers: people.ams,
    sellers: sellerRows(ctx, people.sellers),
    credits: credits.map((c) => c.row),
    credit_histories,
    credit_chat,
    leads,
    invoices: sales.invoices,
    invoice_items: sales.items,
    wallet_transactions: sales.wallet,
  };
  const { feesOpposite } = plantNumberFormats(ctx, tables, sales.nearMisses, p99);
  return { tables, p99, nearMisses: sales.nearMisses, feesOpposite };
}

interface Planted { nearMisses: readonly W2Row[]; feesOpposite: readonly W2Row[] }

function extractTruth(tables: Record<W2Table, W2Row[]>, planted: Planted, day: number, date: number): W2ExtractTruth {
  const counts = new Map<string, number>([...W2_CHECKS, ...W2_RECONCILIATIONS].map((c) => [c.name, 0]));
  const files = {} as Record<W2Table, W2FileTruth>;
  const current = {} as Record<W2Table, W2Row[]>;
  let total = 0;
  for (const table of W2_TABLE_ORDER) {
    const rows = (current[table] = tables[table].filter((r) => r.day <= day));
    for (const r of rows) {
      for (const tag of r.tags) {
        if (!counts.has(tag)) throw new Error(`w2: row tagged with unknown check ${tag}`);
        counts.set(tag, counts.get(tag)! + 1);
      }
    }
    const tagged = (name: string): number => rows.filter((r) => r.tags.includes(name)).length;
    files[table] = {
      file: `${table}_${compactDay(date)}.csv`, rows: rows.length,
      null_key_rows: tagged(`not_null_${table}`), duplicate_key_rows: tagged(`unique_${table}`),
    };
    total += rows.length;
  }
  return {
    date: isoDay(date),
    files,
    checks: Object.fromEntries(W2_CHECKS.map((c) => [c.name, counts.get(c.name)!])),
    reconciliations: Object.fromEntries(W2_RECONCILIATIONS.map((c) => [c.name, counts.get(c.name)!])),
    near_misses_within_tolerance: planted.nearMisses.filter((r) => r.day <= day).length,
    items_off_by_noise: countItemsOffByNoise(current.invoices, current.invoice_items, ITEM_TYPES),
    fees_signed_opposite: planted.feesOpposite.filter((r) => r.day <= day).length,
    number_formats: countNumberFormats(current),
    rows: total,
  };
}

/** Writes the ten extracts for every day plus truth.json; returns the truth. */
export async function generateCreditPlatform(raw: CreditPlatformOptions): Promise<W2Truth> {
  const o = parseOptions(creditPlatformOptions, raw, 'w2 credit platform');
  await fs.mkdir(o.dir, { recursive: true });
  const start = parseDay(o.startDate);
  const { tables, p99, ...planted } = buildTables(o.seed, o.size, start, o.days);
  const extracts: W2ExtractTruth[] = [];
  for (let d = 0; d < o.days; d++) {
    const date = start + d * DAY_MS;
    for (const table of W2_TABLE_ORDER) {
      const writer = await CsvFileWriter.open(path.join(o.dir, `${table}_${compactDay(date)}.csv`), W2_TABLES[table]);
      for (const row of tables[table]) if (row.day <= d) await writer.row(row.fields);
      await writer.close();
    }
    extracts.push(extractTruth(tables, planted, d, date));
  }
  const truth: W2Truth = {
    workload: 'w2_credit_platform', seed: o.seed, size: o.size, days: o.days, startDate: o.startDate,
    tables: W2_TABLE_ORDER.map((table) => ({
      table, columns: W2_TABLES[table], key: W2_KEYS[table] ?? null, natural_key: W2_NATURAL_KEYS[table] ?? null,
    })),
    check_definitions: W2_CHECKS,
    reconciliation_definitions: W2_RECONCILIATIONS,
    credit_amount_p99: (p99 / 100).toFixed(4),
    notes: NOTES,
    extracts,
  };
  await writeTruth(o.dir, truth);
  return truth;
}
