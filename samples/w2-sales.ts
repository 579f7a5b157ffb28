/**
 * W2 builders for leads, invoices, invoice_items and wallet_transactions. Every planted defect is
 * on its own row/invoice. Item defects (unknown invoice id, bad item type) take the place of one
 * of the invoice's five items, so that invoice also fails the reconciliation of that column.
 */
import { compactDay, DAY_MS, fixed, isoDay } from './format.ts';
import { insertAfter, money4, stamp, take, type W2Context, type W2Row } from './w2-context.ts';
import type { Seller } from './w2-people.ts';
import { INVOICE_AMOUNT_COLUMNS, ITEM_TYPES, type ItemType } from './w2-schema.ts';
import type { Random } from './random.ts';

export function leadRows(ctx: W2Context, sellers: readonly Seller[]): W2Row[] {
  const random = ctx.random('leads');
  const parents = sellers.filter((s) => s.hasChildren);
  const total = Math.max(100, Math.round(20_000 * ctx.scale));
  const dups = ctx.few(5);
  const leads: Array<{ at: number; seller: Seller | null; row: W2Row }> = [];
  for (let i = 0; i < total - dups; i++) {
    const seller = random.pick(parents);
    const at = seller.signup + Math.floor(random.next() * (ctx.end + DAY_MS - seller.signup));
    const status = random.weighted([['New', 25], ['Contacted', 25], ['Confirmed', 35], ['Cancelled', 15]] as const);
    const shipping = status === 'Confirmed' ? random.pick(['Shipped', 'Delivered']) : status === 'Cancelled' ? random.pick(['Pending', 'Returned']) : 'Pending';
    const amount = status === 'Cancelled' && random.chance(0.3) ? '-0.0' : fixed(random.int(100_000, 50_000_000), 4);
    const tracking = shipping === 'Pending' ? '' : `TRK${random.int(10_000_000, 99_999_999)}`;
    leads.push({ at, seller, row: { day: 0, fields: [null, String(seller.id), '', amount, status, shipping, tracking], tags: [] } });
  }
  const pool = [...leads];
  for (const l of take(random, pool, ctx.few(2000), 'leads')) {
    l.at = l.seller!.signup - random.int(1, 200) * DAY_MS + random.int(0, DAY_MS - 1);
    l.row.tags.push('leads_after_signup');
  }
  take(random, pool, ctx.few(8), 'leads').forEach((l, i) => {
    l.seller = null;
    l.row.fields[1] = String(99_000 + i);
    l.row.tags.push('fk_leads_seller');
  });
  for (const l of take(random, pool, ctx.few(6), 'leads')) {
    l.row.fields[4] = random.pick(['Lost', 'Rejected', 'Unknown']);
    l.row.tags.push('accepted_leads_status');
  }
  for (const l of take(random, pool, ctx.few(6), 'leads')) {
    l.row.fields[5] = random.pick(['In Transit', 'Lost', 'Unknown']);
    l.row.tags.push('accepted_leads_shipping_status');
  }
  const nullKeys = new Set(take(random, pool, ctx.few(5), 'leads'));
  leads.sort((a, b) => a.at - b.at);
  const rows = leads.map((l, i) => {
    if (l.seller) l.seller.leads++;
    l.row.day = ctx.dayOf(l.at);
    l.row.fields[2] = stamp(random, l.at);
    if (nullKeys.has(l)) l.row.tags.push('not_null_leads');
    else l.row.fields[0] = String(i + 1);
    return l.row;
  });
  duplicate(random, rows, pool.map((l) => l.row), dups, 'unique_leads');
  return rows;
}

/**
 * Inserts exact copies of `n` distinct clean rows somewhere after their originals; a copy shares
 * its original's fields, so the number formats planted later (w2-noise.ts) repeat too.
 */
function duplicate(random: Random, rows: W2Row[], clean: W2Row[], n: number, tag: string): void {
  for (const original of take(random, clean, n, 'clean rows to duplicate')) {
    insertAfter(random, rows, rows.indexOf(original) + 1, { day: original.day, fields: original.fields, tags: [tag] });
  }
}

interface Invoice { id: string; seller: Seller; day: number; units: Record<ItemType, number>; row: W2Row; items: W2Row[]; wallet: W2Row }

function buildInvoices(ctx: W2Context, random: Random, sellers: readonly Seller[]): Invoice[] {
  const parents = sellers.filter((s) => s.hasChildren);
  const n = Math.max(40, Math.round(27_600 * ctx.scale));
  const anchor = ctx.end - DAY_MS; // the newest period ends the day before the last extract
  const capacity = new Map(parents.map((s) => [s, Math.floor((anchor - s.signup) / (7 * DAY_MS))]));
  const counts = new Map(parents.map((s) => [s, 0]));
  for (let i = 0; i < n; i++) {
    let s = random.pick(parents);
    while (counts.get(s)! >= capacity.get(s)!) s = random.pick(parents);
    counts.set(s, counts.get(s)! + 1);
  }
  const invoices: Invoice[] = [];
  for (let week = 0; invoices.length < n; week++) {
    for (const s of parents) {
      if (week >= counts.get(s)!) continue;
      const end = anchor - week * 7 * DAY_MS;
      const sales = random.int(1_000_000, 500_000_000);
      const fees = Math.round((sales * random.int(200, 500)) / 10_000);
      const creditsDue = random.chance(0.4) ? 0 : random.int(0, Math.floor(sales / 5));
      const fromBalance = random.chance(0.5) ? 0 : random.int(-Math.floor(sales / 20), Math.floor(sales / 20));
      const units = { sales, fees, credits_due: creditsDue, from_balance: fromBalance, total: sales - fees - creditsDue + fromBalance };
      const id = `${s.id}_${compactDay(end)}`;
      const day = ctx.dayOf(end + DAY_MS);
      const row: W2Row = { day, fields: [id, String(s.id), isoDay(end - 6 * DAY_MS), isoDay(end), ...ITEM_TYPES.map((t) => money4(random, units[t]))], tags: [] };
      const items = ITEM_TYPES.map((t) => ({ day, fields: [id, t, money4(random, units[t])], tags: [] as string[] }));
      const wallet: W2Row = {
        day, fields: [`WT_${id}`, String(s.id), units.total >= 0 ? 'deposit' : 'withdrawal', fixed(units.total, 4), isoDay(end + DAY_MS)], tags: [],
      };
      invoices.push({ id, seller: s, day, units, row, items, wallet });
    }
  }
  return invoices.reverse(); // oldest period first

}

export interface SalesRows { invoices: W2Row[]; items: W2Row[]; wallet: W2Row[]; nearMisses: W2Row[] }

export function salesRows(ctx: W2Context, sellers: readonly Seller[]): SalesRows {
  const random = ctx.random('invoices');
  const invoices = buildInvoices(ctx, random, sellers);
  const pool = [...invoices];
  const mismatch = (inv: Invoice, type: ItemType): void => {
    inv.row.tags.push(`invoice_${INVOICE_AMOUNT_COLUMNS[type]}_matches_items`);
  };
  take(random, pool, ctx.few(4), 'invoices').forEach((inv, i) => {
    inv.row.fields[1] = String(99_000 + i);
    inv.row.tags.push('fk_invoices_seller');
  });
  for (const type of ITEM_TYPES) {
    for (const inv of take(random, pool, ctx.few(3), 'invoices')) {
      // Fees compare by absolute value: a fee item only grows, so |item| never lands back on |fees|.
      const delta = random.int(100, 500_000) * (random.chance(0.5) || type === 'fees' ? 1 : -1);
      inv.items[ITEM_TYPES.indexOf(type)].fields[2] = fixed(inv.units[type] + delta, 4);
      mismatch(inv, type);
    }
  }
  const nearMisses = take(random, pool, ctx.few(5), 'invoices').map((inv) => {
    const t = random.int(0, 4);
    inv.items[t].fields[2] = fixed(inv.units[ITEM_TYPES[t]] + random.int(1, 40) * (random.chance(0.5) ? 1 : -1), 4);
    return inv.items[t];
  });
  const nonZero: ItemType[] = ['sales', 'fees', 'total'];
  for (const inv of take(random, pool, ctx.few(6), 'invoices')) {
    const type = random.pick(nonZero);
    const item = inv.items[ITEM_TYPES.indexOf(type)];
    item.fields[0] = `${inv.seller.id}_${inv.row.fields[2]!.replaceAll('-', '')}`; // the period start: no such invoice
    item.tags.push('fk_invoice_items_invoice');
    mismatch(inv, type);
  }
  for (const inv of take(random, pool, ctx.few(5), 'invoices')) {
    const type = random.pick(nonZero);
    const item = inv.items[ITEM_TYPES.indexOf(type)];
    item.fields[1] = random.pick(['tax', 'discount', 'adjustment']);
    item.tags.push('accepted_invoice_items_item_type');
    mismatch(inv, type);
  }
  for (const inv of take(random, pool, ctx.few(10), 'invoices')) {
    inv.wallet.fields[3] = fixed(inv.units.total + random.int(100, 1_000_000) * (random.chance(0.5) ? 1 : -1), 4);
    inv.wallet.tags.push('wallet_matches_invoice_total');
  }
  take(random, pool, ctx.few(4), 'invoices').forEach((inv, i) => {
    inv.wallet.fields[1] = String(99_500 + i);
    inv.wallet.tags.push('fk_wallet_transactions_seller');
  });
  for (const inv of take(random, pool, ctx.few(3), 'invoices')) {
    inv.wallet.fields[2] = random.pick(['refund', 'transfer', 'fee']);
    inv.wallet.tags.push('accepted_wallet_transactions_type');
  }
  for (const inv of take(random, pool, ctx.few(3), 'invoices')) {
    inv.wallet.fields[0] = null;
    inv.wallet.tags.push('not_null_wallet_transactions');
  }
  // Duplicates: invoice B's transaction is replaced by a copy of clean invoice A's (B has none).
  for (const [a, b] of pairs(take(random, pool, 2 * ctx.few(3), 'invoices'))) {
    b.wallet = { day: Math.max(a.day, b.day), fields: a.wallet.fields, tags: ['unique_wallet_transactions'] };
  }
  return {
    invoices: invoices.map((i) => i.row),
    items: invoices.flatMap((i) => i.items),
    wallet: orderByDay(invoices.map((i) => i.wallet)),
    nearMisses,
  };
}

function pairs<T>(items: T[]): Array<[T, T]> {
  const out: Array<[T, T]> = [];
  for (let i = 0; i + 1 < items.length; i += 2) out.push([items[i], items[i + 1]]);
  return out;
}

/** Stable sort by day, so each daily snapshot is a prefix-preserving superset of the last. */
function orderByDay(rows: W2Row[]): W2Row[] {
  return rows.map((r, i) => [r, i] as const).sort((x, y) => x[0].day - y[0].day || x[1] - y[1]).map(([r]) => r);
}
