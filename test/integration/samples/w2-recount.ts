/**
 * Test helper: recomputes every W2 check and reconciliation from the CSV files alone, written
 * from WORKLOADS.md, not from the generator: a row with a non-null key loads once (first wins).
 */
import path from 'node:path';
import { readRecords, toUnits } from './csv-reader.ts';

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
  const open = new Map<string, number>();
  for (const c of loaded.credits) if (c.status !== 'Cancelled') open.set(c.seller_id, (open.get(c.seller_id) ?? 0) + toUnits(c.amount, 2));
  checks.sellers_within_limit = loaded.sellers.filter((s) => (open.get(s.seller_id) ?? 0) > toUnits(s.credit_limit, 2)).length;
  const amounts = loaded.credits.map((c) => toUnits(c.amount, 2)).sort((a, b) => a - b);
  const pos = 0.99 * (amounts.length - 1);
  const p99 = amounts[Math.floor(pos)] + (amounts[Math.ceil(pos)] - amounts[Math.floor(pos)]) * (pos - Math.floor(pos));
  checks.credit_amount_outliers = amounts.filter((a) => a > p99).length;

  const recon: Record<string, number> = {};
  const itemSums = new Map<string, number>();
  for (const i of loaded.invoice_items) itemSums.set(`${i.invoice_id}|${i.item_type}`, (itemSums.get(`${i.invoice_id}|${i.item_type}`) ?? 0) + toUnits(i.amount, 4));
  let nearMisses = 0;
  for (const [type, col] of Object.entries(COLUMNS)) {
    recon[`invoice_${col}_matches_items`] = 0;
    for (const inv of loaded.invoices) {
      const diff = Math.abs(toUnits(inv[col], 4) - (itemSums.get(`${inv.invoice_id}|${type}`) ?? 0));
      if (diff > 50) recon[`invoice_${col}_matches_items`]++;
      else if (diff > 0) nearMisses++;
    }
  }
  const invoices = byKey('invoices');
  recon.wallet_matches_invoice_total = loaded.wallet_transactions.filter((w) => {
    const inv = invoices.get(w.transaction_id.replace(/^WT_/, ''));
    return inv !== undefined && Math.abs(toUnits(w.amount, 4) - toUnits(inv.total, 4)) > 50;
  }).length;
  const last = new Map<string, Rec>();
  for (const h of loaded.credit_histories) {
    const prev = last.get(h.credit_id);
    if (prev === undefined || h.changed_at > prev.changed_at) last.set(h.credit_id, h);
  }
  recon.credit_status_matches_history = loaded.credits.filter((c) => last.has(c.credit_id) && last.get(c.credit_id)!.status !== c.status).length;
  return { rows, checks, recon, nearMisses, p99 };
}
