/**
 * W4 dataset behind the fake transactions API: deterministic records from a seed, the dirty way
 * each one is rendered (missing category, string amount, second date format, listed twice), the
 * paged listing by last_modified, and `advance()` — modifications, backdating, reversals, arrivals.
 */
import { DAY_MS, fixed } from './format.ts';
import { createRandom, deriveSeed, type Random } from './random.ts';

export const W4_STATUSES = ['pending', 'approved', 'declined', 'reversed'] as const;
export const W4_CATEGORIES = ['electronics', 'groceries', 'travel', 'fashion', 'home', 'health', 'entertainment'] as const;

export interface TxRecord {
  transaction_id: string;
  customer_id: string;
  category: string;
  cents: number;
  date: number;
  status: (typeof W4_STATUSES)[number];
  modified: number;
  reverses?: string;
  /** How this record is rendered, fixed at creation. */
  dirty: { category: 'absent' | 'null' | null; amountAsString: boolean; dayFirstDate: boolean; listedTwice: boolean };
}

export type JsonRecord = Record<string, string | number | null>;

export interface ChangeEvent { kind: 'modified' | 'backdated' | 'reversed' | 'added'; transaction_id: string; reverses?: string; at: string }

export interface AdvanceRequest { modify?: number; backdate?: number; reverse?: number; add?: number }

const pad = (n: number): string => String(n).padStart(2, '0');

/** ISO 8601 without milliseconds, or 'DD/MM/YYYY HH:mm:ss' (UTC) — the two formats the API mixes. */
export function renderDate(ms: number, dayFirst: boolean): string {
  const d = new Date(ms);
  if (!dayFirst) return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${d.toISOString().slice(11, 19)}`;
}

export function renderRecord(r: TxRecord): JsonRecord {
  const out: JsonRecord = { transaction_id: r.transaction_id, customer_id: r.customer_id };
  if (r.dirty.category !== 'absent') out.product_category = r.dirty.category === 'null' ? null : r.category;
  out.transaction_amount = r.dirty.amountAsString ? fixed(r.cents, 2) : r.cents / 100;
  out.transaction_date = renderDate(r.date, r.dirty.dayFirstDate);
  out.status = r.status;
  out.last_modified = new Date(r.modified).toISOString();
  if (r.reverses !== undefined) out.reverses = r.reverses;
  return out;
}

export class TransactionStore {
  readonly records: TxRecord[] = [];
  readonly changes: ChangeEvent[] = [];
  clock: number;
  private advances = 0;
  private readonly customers: string[];

  constructor(private readonly seed: number, count: number, now: number) {
    this.clock = now;
    const random = createRandom(deriveSeed(seed, 'w4', 'records'));
    this.customers = Array.from({ length: Math.max(5, Math.ceil(count / 5)) }, (_, i) => `CUST-${String(10_001 + i * 3 + random.int(0, 2))}`);
    for (let i = 0; i < count; i++) {
      const date = now - random.int(1, 400 * 24) * 3_600_000 - random.int(0, 3_599_999);
      this.records.push(this.create(random, date, Math.min(now - 1000, date + random.int(0, 3 * DAY_MS))));
    }
  }

  private create(random: Random, date: number, modified: number, status?: TxRecord['status']): TxRecord {
    const p = random.next();
    return {
      transaction_id: `TX${10_000_001 + this.records.length}`,
      customer_id: this.customers[Math.floor(this.customers.length * random.next() ** 2)],
      category: random.pick(W4_CATEGORIES),
      cents: random.int(100, 500_000),
      date,
      status: status ?? random.weighted([['approved', 72], ['pending', 13], ['declined', 15]] as const),
      modified,
      dirty: {
        category: p < 0.015 ? 'absent' : p < 0.03 ? 'null' : null,
        amountAsString: random.chance(0.05),
        dayFirstDate: random.chance(0.1),
        listedTwice: random.chance(0.02),
      },
    };
  }

  /** Records with last_modified >= since, ordered by (last_modified, transaction_id), with the dirty duplicates inserted one page later. */
  listing(since: number, pageSize: number): TxRecord[] {
    const base = this.records
      .filter((r) => r.modified >= since)
      .sort((a, b) => a.modified - b.modified || (a.transaction_id < b.transaction_id ? -1 : 1));
    const out = [...base];
    for (let i = base.length - 1; i >= 0; i--) {
      if (base[i].dirty.listedTwice) out.splice(Math.min(i + pageSize, out.length), 0, base[i]);
    }
    return out;
  }

  /** Applies changes with last_modified after the current clock (which moves on one hour). */
  advance(req: AdvanceRequest): ChangeEvent[] {
    const random = createRandom(deriveSeed(this.seed, 'w4', 'advance', ++this.advances));
    this.clock += 3_600_000;
    let tick = 0;
    const stampNext = (): number => this.clock + ++tick * 1000;
    const events: ChangeEvent[] = [];
    const note = (kind: ChangeEvent['kind'], r: TxRecord): void => {
      events.push({ kind, transaction_id: r.transaction_id, ...(r.reverses ? { reverses: r.reverses } : {}), at: new Date(r.modified).toISOString() });
    };
    const reversed = new Set(this.records.map((r) => r.reverses).filter((id) => id !== undefined));
    const pool = random.shuffle(this.records.filter((r) => r.reverses === undefined));
    const takeFrom = (n: number, ok: (r: TxRecord) => boolean): TxRecord[] => {
      const out: TxRecord[] = [];
      for (let i = 0; i < pool.length && out.length < n; ) {
        if (ok(pool[i])) out.push(...pool.splice(i, 1));
        else i++;
      }
      return out;
    };
    for (const r of takeFrom(req.reverse ?? 0, (x) => x.status === 'approved' && !reversed.has(x.transaction_id))) {
      const rev = this.create(random, this.clock, stampNext(), 'reversed');
      Object.assign(rev, { customer_id: r.customer_id, category: r.category, cents: -r.cents, reverses: r.transaction_id });
      this.records.push(rev);
      note('reversed', rev);
    }
    for (const r of takeFrom(req.modify ?? 0, (x) => !reversed.has(x.transaction_id))) {
      if (r.status === 'pending') r.status = random.chance(0.7) ? 'approved' : 'declined';
      else r.cents = Math.max(100, Math.round(r.cents * (0.7 + random.next() * 0.6)));
      r.modified = stampNext();
      note('modified', r);
    }
    for (const r of takeFrom(req.backdate ?? 0, () => true)) {
      r.date -= random.int(3, 45) * DAY_MS;
      r.modified = stampNext();
      note('backdated', r);
    }
    for (let i = 0; i < (req.add ?? 0); i++) {
      const r = this.create(random, this.clock - random.int(0, 3_599_999), stampNext());
      this.records.push(r);
      note('added', r);
    }
    this.changes.push(...events);
    return events;
  }
}
