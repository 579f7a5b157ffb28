/**
 * W3 generator: `activities_YYYYMMDD.csv` per day, `size` rows each, streamed with backpressure
 * (1,000,000 rows/day in flat memory). Plants exact counts of duplicate/repeated event ids and
 * dirty values; returns and writes truth.json with per-file counts and the five reports' answers.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CsvFileWriter, csvLine } from './csv-writer.ts';
import { compactDay, DAY_MS, fixed, isoDay, parseDay, withThousands } from './format.ts';
import { generatorOptions, parseOptions, writeTruth } from './options.ts';
import { DefectPlan } from './plan.ts';
import { createRandom, deriveSeed, type Random } from './random.ts';
import { W3_KYC_STAGES, W3ReportAggregator, type W3Product, type W3Reports, type W3Status } from './w3-reports.ts';

export const W3_HEADER = [
  'event_id', 'merchant_id', 'event_timestamp', 'product', 'event_type',
  'amount', 'status', 'channel', 'region', 'merchant_tier',
] as const;
export const W3_EVENT_TYPES: Record<W3Product, readonly string[]> = {
  POS: ['CARD_PURCHASE', 'CASH_WITHDRAWAL', 'TRANSFER'],
  AIRTIME: ['AIRTIME_PURCHASE', 'DATA_PURCHASE'],
  BILLS: ['ELECTRICITY', 'CABLE_TV', 'INTERNET'],
  CARD_PAYMENT: ['CARD_CHARGE', 'CARD_REFUND'],
  SAVINGS: ['DEPOSIT', 'WITHDRAWAL', 'INTEREST_CREDIT'],
  MONIEBOOK: ['INVOICE_CREATED', 'INVOICE_PAID', 'INVENTORY_UPDATE'],
  KYC: W3_KYC_STAGES,
};
export const W3_CHANNELS = ['POS', 'APP', 'USSD', 'WEB', 'OFFLINE'] as const;
export const W3_TIERS = ['STARTER', 'VERIFIED', 'PREMIUM'] as const;
const REGIONS = ['Lagos', 'Abuja', 'Kano', 'Port Harcourt', 'Ibadan', 'Enugu', 'Kaduna', 'Benin City'];
const PRODUCT_WEIGHTS: ReadonlyArray<readonly [W3Product, number]> = [
  ['POS', 35], ['AIRTIME', 15], ['BILLS', 12], ['CARD_PAYMENT', 12], ['SAVINGS', 10], ['MONIEBOOK', 8], ['KYC', 8],
];
const FAILURE_P: Record<W3Product, number> = { POS: 0.08, AIRTIME: 0.05, BILLS: 0.12, CARD_PAYMENT: 0.15, SAVINGS: 0.03, MONIEBOOK: 0.02, KYC: 0.2 };
/** Amount range per product in cents. */
const CENTS: Record<W3Product, readonly [number, number]> = {
  POS: [100, 25_000_000], AIRTIME: [5_000, 1_000_000], BILLS: [100_000, 5_000_000], CARD_PAYMENT: [1_000, 10_000_000],
  SAVINGS: [100_000, 50_000_000], MONIEBOOK: [0, 2_000_000], KYC: [0, 0],
};

/** Kinds of planted rows; each planted row has exactly one. */
export const W3_DEFECT_KINDS = [
  'duplicate_event_id', 'repeated_event_id', 'timestamp_empty', 'timestamp_malformed', 'amount_thousands_separator',
  'amount_text', 'amount_negative', 'product_invalid', 'event_type_invalid', 'status_invalid', 'channel_invalid', 'tier_invalid',
] as const;
export type W3DefectKind = (typeof W3_DEFECT_KINDS)[number];
const RATES: Record<W3DefectKind, number> = {
  duplicate_event_id: 0.005, repeated_event_id: 0.003, timestamp_empty: 0.002, timestamp_malformed: 0.002,
  amount_thousands_separator: 0.005, amount_text: 0.002, amount_negative: 0.002, product_invalid: 0.0015,
  event_type_invalid: 0.0015, status_invalid: 0.0015, channel_invalid: 0.0015, tier_invalid: 0.0015,
};
const BAD: Record<string, readonly string[]> = {
  timestamp_malformed: ['not-a-date', '2025-13-45T25:61:00Z', '20250513T99:99', '##########', '2025-05-13T10:61:00Z'],
  amount_text: ['N/A', 'abc', 'twelve', 'unknown', '12.5.0'],
  product_invalid: ['LOANS', 'INSURANCE', 'P0S', 'CRYPTO'],
  event_type_invalid: ['UNKNOWN_EVENT', 'TEST', 'CHARGEBACK'],
  status_invalid: ['SUCCESSFUL', 'ERROR', 'REVERSED', 'UNKNOWN'],
  channel_invalid: ['ATM', 'SMS', 'BRANCH'],
  tier_invalid: ['GOLD', 'BASIC', 'ENTERPRISE'],
};

/** Which field (index in W3_HEADER) each value defect replaces. */
const BAD_COLUMN: Partial<Record<W3DefectKind, number>> = {
  timestamp_malformed: 2, amount_text: 5, product_invalid: 3, event_type_invalid: 4, status_invalid: 6, channel_invalid: 7, tier_invalid: 9,
};

export const merchantActivityOptions = generatorOptions.extend({
  /** @default 10000 — rows per daily file */
  size: z.number().int().min(1).max(50_000_000).default(10_000),
  /** @default clamp(size / 20, 20, 10000) — merchants in the pool */
  merchants: z.number().int().min(1).max(100_000).optional(),
});
export type MerchantActivityOptions = z.input<typeof merchantActivityOptions>;

export interface W3FileTruth {
  file: string;
  date: string;
  rows: number;
  /** Rows that load: clean rows plus coerced `1,250.00` amounts (first occurrences only). */
  loaded: number;
  /** Rows refused for a dirty value (every kind except duplicates, repeats and coercible amounts). */
  rejected: number;
  /** duplicate_event_id + repeated_event_id: rows skipped because their event was already seen. */
  deduplicated: number;
  coerced_amounts: number;
  defects: Record<W3DefectKind, number>;
}

export interface W3Truth {
  workload: 'w3_merchant_activity';
  seed: number; size: number; days: number; startDate: string; merchants: number;
  defect_kinds: readonly W3DefectKind[];
  files: W3FileTruth[];
  unique_valid_events: number;
  totals: { rows: number; loaded: number; rejected: number; deduplicated: number; coerced_amounts: number; defects: Record<W3DefectKind, number> };
  reports: W3Reports;
}

interface Merchants { ids: string[]; region: string[]; tier: string[]; kycStage: Uint8Array }

function buildMerchants(seed: number, count: number): Merchants {
  const random = createRandom(deriveSeed(seed, 'w3', 'merchants'));
  const m: Merchants = { ids: [], region: [], tier: [], kycStage: new Uint8Array(count) };
  for (let i = 0; i < count; i++) {
    m.ids.push(`MRC-${100_000 + i * Math.floor(800_000 / count) + random.int(0, Math.floor(800_000 / count) - 1)}`);
    m.region.push(random.pick(REGIONS));
    m.tier.push(random.weighted([['STARTER', 60], ['VERIFIED', 30], ['PREMIUM', 10]] as const));
  }
  return m;
}

function plannedCounts(random: Random, size: number, repeatable: number): Record<W3DefectKind, number> {
  const counts = {} as Record<W3DefectKind, number>;
  const room = size - 1; // row 0 is always clean
  W3_DEFECT_KINDS.forEach((kind, i) => {
    const n = room >= 4 * W3_DEFECT_KINDS.length ? Math.max(1, Math.round(size * RATES[kind] * (0.75 + random.next() / 2))) : i < room / 4 ? 1 : 0;
    counts[kind] = kind === 'repeated_event_id' ? Math.min(n, repeatable) : n;
  });
  return counts;
}

interface Event { merchant: number; product: W3Product; eventType: string; status: W3Status; cents: number; channel: string }

function drawEvent(random: Random, merchants: Merchants, clean: boolean): Event {
  const count = merchants.ids.length;
  const merchant = Math.min(count - 1, Math.floor(count * random.next() ** 3));
  let product = random.weighted(PRODUCT_WEIGHTS);
  if (product === 'KYC' && !clean) product = 'POS';
  const p = random.next();
  const status: W3Status = p < FAILURE_P[product] ? 'FAILED' : p < FAILURE_P[product] + 0.04 ? 'PENDING' : 'SUCCESS';
  const stage = merchants.kycStage[merchant];
  const eventType = product === 'KYC' && stage < 3 ? W3_KYC_STAGES[stage] : random.pick(W3_EVENT_TYPES[product]);
  if (product === 'KYC' && status === 'SUCCESS' && eventType === W3_KYC_STAGES[stage]) merchants.kycStage[merchant]++;
  const [lo, hi] = CENTS[product];
  const cents = lo + Math.floor(random.next() ** 3 * (hi - lo));
  return { merchant, product, eventType, status, cents, channel: random.pick(W3_CHANNELS) };
}

/** Replaces one field of a clean row's fields with the planted dirty value. */
function plant(random: Random, kind: W3DefectKind, f: string[], ev: Event): void {
  if (kind === 'timestamp_empty') f[2] = '';
  else if (kind === 'amount_thousands_separator') f[5] = withThousands(ev.cents, 2);
  else if (kind === 'amount_negative') f[5] = `-${fixed(Math.max(ev.cents, 1), 2)}`;
  else {
    const column = BAD_COLUMN[kind];
    if (column === undefined) throw new Error(`unexpected defect kind ${kind}`);
    f[column] = random.pick(BAD[kind]);
  }
}

interface Carry { previous: string[]; reservoir: string[] }

async function writeDay(
  file: string, o: { seed: number; size: number }, day: number, dayIndex: number,
  merchants: Merchants, agg: W3ReportAggregator, carry: Carry,
): Promise<W3FileTruth> {
  const random = createRandom(deriveSeed(o.seed, 'w3', dayIndex));
  const defects = plannedCounts(random, o.size, carry.previous.length);
  const plan = new DefectPlan(random, o.size - 1, defects);
  const capacity = Math.max(64, Math.ceil(o.size * 0.01));
  const ring: string[] = [];
  carry.reservoir = [];
  const month = isoDay(day).slice(0, 7);
  const writer = await CsvFileWriter.open(file, W3_HEADER);
  let clean = 0;
  for (let i = 0; i < o.size; i++) {
    const kind = i === 0 ? null : plan.next();
    if (kind === 'duplicate_event_id') {
      await writer.raw(random.pick(ring));
      continue;
    }
    if (kind === 'repeated_event_id') {
      const j = random.int(0, carry.previous.length - 1);
      await writer.raw(carry.previous[j]);
      carry.previous[j] = carry.previous[carry.previous.length - 1];
      carry.previous.pop();
      continue;
    }
    const ev = drawEvent(random, merchants, kind === null);
    if (kind === 'amount_thousands_separator') ev.cents = random.int(100_000, 99_999_999);
    const ts = new Date(day + Math.floor(((i + random.next()) * DAY_MS) / o.size)).toISOString();
    const fields = [
      random.uuidFor(dayIndex, i), merchants.ids[ev.merchant], ts, ev.product, ev.eventType,
      fixed(ev.cents, 2), ev.status, ev.channel, merchants.region[ev.merchant], merchants.tier[ev.merchant],
    ];
    if (kind !== null) plant(random, kind, fields, ev);
    const line = csvLine(fields);
    if (kind === null || kind === 'amount_thousands_separator') agg.add(ev.merchant, ev.product, ev.eventType, ev.status, ev.cents, month);
    if (kind === null) {
      clean++;
      if (ring.length < 64) ring.push(line);
      else ring[random.int(0, 63)] = line;
      if (carry.reservoir.length < capacity) carry.reservoir.push(line);
      else {
        const j = random.int(0, clean - 1);
        if (j < capacity) carry.reservoir[j] = line;
      }
    }
    await writer.raw(line);
  }
  await writer.close();
  carry.previous = carry.reservoir;
  const deduplicated = defects.duplicate_event_id + defects.repeated_event_id;
  const coerced = defects.amount_thousands_separator;
  return {
    file: path.basename(file), date: isoDay(day), rows: o.size, loaded: clean + coerced,
    rejected: o.size - clean - coerced - deduplicated, deduplicated, coerced_amounts: coerced, defects,
  };
}

/** Writes one activities file per day plus truth.json; returns the truth. */
export async function generateMerchantActivity(raw: MerchantActivityOptions): Promise<W3Truth> {
  const o = parseOptions(merchantActivityOptions, raw, 'w3 merchant activity');
  await fs.mkdir(o.dir, { recursive: true });
  const merchantCount = o.merchants ?? Math.min(10_000, Math.max(20, Math.round(o.size / 20)));
  const merchants = buildMerchants(o.seed, merchantCount);
  const agg = new W3ReportAggregator(merchants.ids);
  const start = parseDay(o.startDate);
  const carry: Carry = { previous: [], reservoir: [] };
  const zero = (): Record<W3DefectKind, number> => Object.fromEntries(W3_DEFECT_KINDS.map((k) => [k, 0])) as Record<W3DefectKind, number>;
  const totals = { rows: 0, loaded: 0, rejected: 0, deduplicated: 0, coerced_amounts: 0, defects: zero() };
  const files: W3FileTruth[] = [];
  for (let d = 0; d < o.days; d++) {
    const day = start + d * DAY_MS;
    const f = await writeDay(path.join(o.dir, `activities_${compactDay(day)}.csv`), o, day, d, merchants, agg, carry);
    files.push(f);
    totals.rows += f.rows;
    totals.loaded += f.loaded;
    totals.rejected += f.rejected;
    totals.deduplicated += f.deduplicated;
    totals.coerced_amounts += f.coerced_amounts;
    for (const k of W3_DEFECT_KINDS) totals.defects[k] += f.defects[k];
  }
  const truth: W3Truth = {
    workload: 'w3_merchant_activity', seed: o.seed, size: o.size, days: o.days, startDate: o.startDate,
    merchants: merchantCount, defect_kinds: W3_DEFECT_KINDS, files, unique_valid_events: totals.loaded, totals,
    reports: agg.result(),
  };
  await writeTruth(o.dir, truth);
  return truth;
}

