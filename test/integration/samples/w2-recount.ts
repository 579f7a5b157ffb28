/**
 * Test helper: recomputes every W2 check and reconciliation from the CSV files alone, written
 * from WORKLOADS.md, not from the generator: a row with a non-null key loads once (first wins).
 * Amounts are compared exactly (BigInt), whatever their decimals; fees by absolute value.
 */
import path from 'node:path';
import { readRecords } from './csv-reader.ts';

type Rec = Record<string, string>;
const KEYS: Record<string, string> = {
  senior_account_managers: 'sam_id', account_managers: 'am_id', sellers: 'seller_id', credits: 'credit_id',
  leads: 'lead_id', invoices: 'invoice_id', wallet_transactions: 'transaction_id',
};
const TABLES = [
  'senior_account_managers', 'account_managers', 'sellers', 'credits', 'credit_histories',
  'credit_chat', 'leads', 'invoices', 'invoice_items', 'wallet_transactions',
];
const CREDIT = ['New', 'InReview', 'Approved', 'Paid', 'Deposit', 'Cancelled'];
const ENUMS: Array<[string, string, string[]]> = [
  ['sellers', 'market', ['GCC', 'AFRQ']], ['credits', 'status', CREDIT], ['credit_histories', 'status', CREDIT],
  ['credit_chat', 'role', ['AM', 'SAM']], ['leads', 'status', ['New', 'Contacted', 'Confirmed', 'Cancelled']],
  ['leads', 'shipping_status', ['Pending', 'Shipped', 'Delivered', 'Returned']],
  ['invoice_items', 'item_type', ['sales', 'fees', 'credits_due', 'from_balance', 'total']],
  ['wallet_transactions', 'type', ['deposit', 'withdrawal']],
];
const FKS: Array<[string, string, string, string]> = [
  ['fk_account_managers_sam', 'account_managers', 'sam_id', 'senior_account_managers'],
  ['fk_sellers_am', 'sellers', 'am_id', 'account_managers'], ['fk_sellers_sam', 'sellers', 'sam_id', 'senior_account_managers'],
  ['fk_credits_seller', 'credits', 'seller_id', 'sellers'], ['fk_credit_histories_credit', 'credit_histories', 'credit_id', 'credits'],
  ['fk_credit_chat_credit', 'credit_chat', 'credit_id', 'credits'], ['fk_leads_seller', 'leads', 'seller_id', 'sellers'],
  ['fk_invoices_seller', 'invoices', 'seller_id', 'sellers'], ['fk_invoice_items_invoice', 'invoice_items', 'invoice_id', 'invoices'],
  ['fk_wallet_transactions_seller', 'wallet_transactions', 'seller_id', 'sellers'],
];
const COLUMNS: Record<string, string> = { sales: 'sales_amount', fees: 'fees', credits_due: 'credits_due', from_balance: 'from_balance', total: 'total' };
const MONEY: Record<string, string[]> = {
  sellers: ['credit_limit', 'initial_wallet'], credits: ['amount'], leads: ['amount'],
  invoices: Object.values(COLUMNS), invoice_items: ['amount'], wallet_transactions: ['amount'],
};

const SCALE = 20;
/** A decimal's value × 10^20, exactly. */
export function exact(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[3] ?? '').length > SCALE) throw new Error(`not a decimal: ${text}`);
  const n = BigInt(m[2] + (m[3] ?? '').padEnd(SCALE, '0'));
  return m[1] === '-' ? -n : n;
}
const TOLERANCE = exact('0.005');
/** Below this an item differs from its invoice by float noise only. */
const NOISE = exact('0.0001');
const abs = (v: bigint) => (v < 0n ? -v : v);
/** Money written with more than four decimals (10+ = float noise), or as `-0.0`. */
function formatOf(text: string): 'float_noise' | 'extra_decimals' | 'negative_zero' | null {
  if (text === '-0.0') return 'negative_zero';
  const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  return decimals >= 10 ? 'float_noise' : decimals > 4 ? 'extra_decimals' : null;
}

export async function recountW2(dir: string, yyyymmdd: string) {
  const checks: Record<string, number> = {};
  const rows: Record<string, number> = {};
  const loaded: Record<string, Rec[]> = {};
  for (const t of TABLES) {
    const all = await readRecords(path.join(dir, `${t}_${yyyymmdd}.csv`));
    rows[t] = all.length;
    const key = KEYS[t];
    if (!key) {
      loaded[t] = all;
      continue;
    }
    const seen = new Set<string>();
    checks[`not_null_${t}`] = all.filter((r) => r[key] === '').length;
    checks[`unique_${t}`] = 0;
    loaded[t] = all.filter((r) => {
      if (r[key] === '') return false;
      if (seen.has(r[key])) return checks[`unique_${t}`]++, false;
      return seen.add(r[key]), true;
    });
  }
  const byKey = (t: string) => new Map(loaded[t].map((r) => [r[KEYS[t]], r]));
  for (const [name, t, col, parent] of FKS) {
    const keys = byKey(parent);
    checks[name] = loaded[t].filter((r) => !keys.has(r[col])).length;
  }
  for (const [t, col, values] of ENUMS) checks[`accepted_${t}_${col}`] = loaded[t].filter((r) => !values.includes(r[col])).length;
  const sellers = byKey('sellers');
  const signup = (id: string) => sellers.get(id)?.signup_date;
  checks.leads_after_signup = loaded.leads.filter((r) => signup(r.seller_id) !== undefined && r.created_at.slice(0, 10) < signup(r.seller_id)!).length;
  checks.credits_after_signup = loaded.credits.filter((r) => signup(r.seller_id) !== undefined && r.issue_date.slice(0, 10) < signup(r.seller_id)!).length;
  checks.credits_due_after_issue = loaded.credits.filter((r) => !(r.due_date > r.issue_date)).length;
  const open = new Map<string, bigint>();
  for (const c of loaded.credits) if (c.status !== 'Cancelled') open.set(c.seller_id, (open.get(c.seller_id) ?? 0n) + exact(c.amount));
  checks.sellers_within_limit = loaded.sellers.filter((s) => (open.get(s.seller_id) ?? 0n) > exact(s.credit_limit)).length;
  // percentile_cont in cents as a float, as the generator's truth states it (noise is 1e-11 cents at most)
  const amounts = loaded.credits.map((c) => Number(c.amount) * 100).sort((a, b) => a - b);
  const pos = 0.99 * (amounts.length - 1);
  const p99 = amounts[Math.floor(pos)] + (amounts[Math.ceil(pos)] - amounts[Math.floor(pos)]) * (pos - Math.floor(pos));
  checks.credit_amount_outliers = amounts.filter((a) => a > p99).length;

  const recon: Record<string, number> = {};
  const itemSums = new Map<string, bigint>();
  let feesOpposite = 0;
  const itemFees = new Map(loaded.invoice_items.filter((i) => i.item_type === 'fees').map((i) => [i.invoice_id, i.amount]));
  for (const inv of loaded.invoices) {
    const item = itemFees.get(inv.invoice_id);
    if (item !== undefined && exact(item) * exact(inv.fees) < 0n) feesOpposite++;
  }
  for (const i of loaded.invoice_items) {
    const value = i.item_type === 'fees' ? abs(exact(i.amount)) : exact(i.amount);
    itemSums.set(`${i.invoice_id}|${i.item_type}`, (itemSums.get(`${i.invoice_id}|${i.item_type}`) ?? 0n) + value);
  }
  let nearMisses = 0;
  let offByNoise = 0;
  for (const [type, col] of Object.entries(COLUMNS)) {
    recon[`invoice_${col}_matches_items`] = 0;
    for (const inv of loaded.invoices) {
      const left = type === 'fees' ? abs(exact(inv[col])) : exact(inv[col]);
      const diff = abs(left - (itemSums.get(`${inv.invoice_id}|${type}`) ?? 0n));
      if (diff > TOLERANCE) recon[`invoice_${col}_matches_items`]++;
      else if (diff >= NOISE) nearMisses++;
      else if (diff > 0n && itemSums.has(`${inv.invoice_id}|${type}`)) offByNoise++;
    }
  }
  const invoices = byKey('invoices');
  recon.wallet_matches_invoice_total = loaded.wallet_transactions.filter((w) => {
    const inv = invoices.get(w.transaction_id.replace(/^WT_/, ''));
    return inv !== undefined && abs(exact(w.amount) - exact(inv.total)) > TOLERANCE;
  }).length;
  const formats: Record<string, Record<string, number>> = {};
  /** Per `table.column`, the exact sum of the money values that load. */
  const sums: Record<string, bigint> = {};
  for (const [t, columns] of Object.entries(MONEY)) {
    formats[t] = { float_noise: 0, extra_decimals: 0, negative_zero: 0 };
    for (const c of columns) sums[`${t}.${c}`] = 0n;
    for (const r of loaded[t]) for (const c of columns) {
      const f = formatOf(r[c]);
      if (f) formats[t][f]++;
      sums[`${t}.${c}`] += exact(r[c]);
    }
  }
  const loadedRows = Object.fromEntries(TABLES.map((t) => [t, loaded[t].length]));
  const last = new Map<string, Rec>();
  for (const h of loaded.credit_histories) {
    const prev = last.get(h.credit_id);
    if (prev === undefined || h.changed_at > prev.changed_at) last.set(h.credit_id, h);
  }
  recon.credit_status_matches_history = loaded.credits.filter((c) => last.has(c.credit_id) && last.get(c.credit_id)!.status !== c.status).length;
  return { rows, loadedRows, checks, recon, nearMisses, offByNoise, feesOpposite, formats, sums, p99 };
}
