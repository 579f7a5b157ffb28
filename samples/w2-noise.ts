/**
 * W2 number formats of real extracts, planted once every defect is in place: fee items signed
 * opposite to their invoice's `fees`, float noise (`1345.6800000000003`, `1345.6799999999998`)
 * and 5–6 decimals (`1130.53997`, `59.480004`) on a share of the money values. Each is within
 * 0.00005 of the value it stands for, so no check or reconciliation changes; the truth counts them.
 */
import type { Random } from './random.ts';
import type { W2Context, W2Row } from './w2-context.ts';
import { W2_TABLES, type W2Table } from './w2-schema.ts';

/** The money columns of each table (unconstrained numeric in the warehouse). */
export const W2_MONEY_COLUMNS: Partial<Record<W2Table, readonly string[]>> = {
  sellers: ['credit_limit', 'initial_wallet'],
  credits: ['amount'],
  leads: ['amount'],
  invoices: ['sales_amount', 'fees', 'credits_due', 'from_balance', 'total'],
  invoice_items: ['amount'],
  wallet_transactions: ['amount'],
};

/** Field indexes of a table's money columns. */
const moneyFields = (table: W2Table): number[] => W2_MONEY_COLUMNS[table]!.map((c) => (W2_TABLES[table] as readonly string[]).indexOf(c));

/** Share of a table's non-zero money values written with noise (the real extract: ~6% of rows). */
const NOISE_RATE: Partial<Record<W2Table, number>> = {
  sellers: 0.05, credits: 0.03, leads: 0.03, invoices: 0.023, invoice_items: 0.067, wallet_transactions: 0.046,
};
/** Share of clean fee items written as a deduction (negative), opposite to the invoice's `fees`. */
const FEES_OPPOSITE_RATE = 0.3;

export type NumberFormat = 'float_noise' | 'extra_decimals' | 'negative_zero';
export type NumberFormatCounts = Record<NumberFormat, number>;

/** Decimals of the exact values below: 10^-13 is the finest noise planted. */
const DECIMALS = 13;
const ONE = 10n ** BigInt(DECIMALS);

/** A plain decimal (at most 13 decimals) → its value × 10^13. */
export function exactUnits(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{0,13}))?$/.exec(text);
  if (!m) throw new Error(`w2: not a decimal with at most ${DECIMALS} decimals: ${text}`);
  const n = BigInt(m[2]) * ONE + BigInt((m[3] ?? '').padEnd(DECIMALS, '0'));
  return m[1] === '-' ? -n : n;
}

/** value × 10^13 → text with `decimals` decimals (the value must fit them). */
function written(units: bigint, decimals: number): string {
  const abs = units < 0n ? -units : units;
  const frac = (abs % ONE).toString().padStart(DECIMALS, '0');
  return `${units < 0n ? '-' : ''}${abs / ONE}.${frac.slice(0, decimals)}`;
}

/**
 * A noisy writing of `text`: ±1–4·10^-13 (13 decimals), ±1–4·10^-5 or ±1–9·10^-6. Under 0.00005
 * each, so an invoice and its item, both noisy, still differ by less than 0.0001.
 */
function noisy(random: Random, text: string): string {
  const v = exactUnits(text);
  const sign = random.chance(0.5) ? 1n : -1n;
  switch (random.pick(['float', 'float', 'five', 'six'] as const)) {
    case 'float': return written(v + sign * BigInt(random.int(1, 4)), DECIMALS);
    case 'five': return written(v + sign * BigInt(random.int(1, 4)) * 10n ** 8n, 5);
    case 'six': return written(v + sign * BigInt(random.int(1, 9)) * 10n ** 7n, 6);
  }
}

/** Which real-extract format a money value has (null: plain, at most four decimals and not `-0.0`). */
export function numberFormatOf(text: string | null): NumberFormat | null {
  if (text === null) return null;
  if (text === '-0.0') return 'negative_zero';
  const decimals = text.length - text.indexOf('.') - 1;
  if (text.indexOf('.') < 0 || decimals <= 4) return null;
  return decimals >= 10 ? 'float_noise' : 'extra_decimals';
}

/** A row the warehouse keeps: not refused for a null key, not a later repeat of a key. */
export const loads = (row: W2Row): boolean => !row.tags.some((t) => t.startsWith('not_null_') || t.startsWith('unique_'));

export interface PlantedFormats {
  /** Fee items signed opposite to their invoice's fees (all clean items of a loaded invoice). */
  feesOpposite: W2Row[];
}

/**
 * Plants the formats in place. Left plain: zeros, the near-miss invoices and their items (their
 * 0.0001–0.004 difference stays exact), credits within 1.00 of the amount p99 (the outlier check
 * stays exact). A repeated key's row shares its original's fields, so it repeats them exactly.
 */
export function plantNumberFormats(
  ctx: W2Context, tables: Record<W2Table, W2Row[]>, nearMisses: readonly W2Row[], p99Cents: number,
): PlantedFormats {
  const random = ctx.random('number-formats');
  const feesOpposite = tables.invoice_items.filter((r) => r.tags.length === 0 && r.fields[1] === 'fees' && random.chance(FEES_OPPOSITE_RATE));
  for (const item of feesOpposite) item.fields[2] = `-${item.fields[2]}`;
  const quiet = new Set(nearMisses.map((r) => r.fields[0]));
  const p99 = BigInt(Math.round(p99Cents)) * ONE / 100n;
  const seen = new Set<Array<string | null>>();
  for (const table of Object.keys(W2_MONEY_COLUMNS) as W2Table[]) {
    const columns = moneyFields(table);
    const keyed = table === 'invoices' || table === 'invoice_items';
    for (const row of tables[table]) {
      if (seen.has(row.fields) || (keyed && quiet.has(row.fields[0]))) continue;
      seen.add(row.fields);
      for (const i of columns) {
        const text = row.fields[i];
        if (text === null || exactUnits(text) === 0n || !random.chance(NOISE_RATE[table]!)) continue;
        if (table === 'credits' && (exactUnits(text) - p99 < ONE && p99 - exactUnits(text) < ONE)) continue;
        row.fields[i] = noisy(random, text);
      }
    }
  }
  return { feesOpposite };
}

/** Per money table, the values of each format in the rows the warehouse keeps. */
export function countNumberFormats(tables: Record<W2Table, readonly W2Row[]>): Partial<Record<W2Table, NumberFormatCounts>> {
  const out: Partial<Record<W2Table, NumberFormatCounts>> = {};
  for (const table of Object.keys(W2_MONEY_COLUMNS) as W2Table[]) {
    const counts: NumberFormatCounts = { float_noise: 0, extra_decimals: 0, negative_zero: 0 };
    const columns = moneyFields(table);
    for (const row of tables[table]) {
      if (!loads(row)) continue;
      for (const i of columns) {
        const format = numberFormatOf(row.fields[i]);
        if (format !== null) counts[format]++;
      }
    }
    out[table] = counts;
  }
  return out;
}

/**
 * Invoice columns whose (only) item of that type differs from them by float noise alone:
 * 0 < |difference| < 0.0001, fees by absolute value. Not reconciliation failures.
 */
export function countItemsOffByNoise(invoices: readonly W2Row[], items: readonly W2Row[], types: readonly string[]): number {
  const byKey = new Map(items.map((r) => [`${r.fields[0]}|${r.fields[1]}`, r.fields[2]!]));
  const abs = (v: bigint) => (v < 0n ? -v : v);
  let n = 0;
  for (const inv of invoices) {
    types.forEach((type, t) => {
      const item = byKey.get(`${inv.fields[0]}|${type}`);
      if (item === undefined) return;
      let [a, b] = [exactUnits(inv.fields[4 + t]!), exactUnits(item)];
      if (type === 'fees') [a, b] = [abs(a), abs(b)];
      const diff = abs(a - b);
      if (diff > 0n && diff < ONE / 10_000n) n++;
    });
  }
  return n;
}
