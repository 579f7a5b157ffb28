/**
 * What the W4 tables and reports must hold, computed straight from the fake API's own listing
 * (plain fetch, no Tributary code): the cleaned rows, the watermark, and the three report answers.
 */
import type pg from 'pg';
import type { FakeApi } from '../../../samples/w4-fake-api.ts';

export type ApiRecord = Record<string, string | number | null | undefined>;

export interface Row {
  transaction_id: string;
  customer_id: string;
  product_category: string;
  amount: string;
  date: string;
  status: string;
  last_modified: string;
  reverses: string | null;
}

/** Every page of the listing, duplicates included, as the source sends it. */
export async function listAll(api: FakeApi, since?: string): Promise<ApiRecord[]> {
  const out: ApiRecord[] = [];
  for (let page: number | null = 1; page !== null; ) {
    const q = new URLSearchParams({ page: String(page), page_size: '1000', ...(since ? { modified_since: since } : {}) });
    const body = (await (await fetch(`${api.url}/transactions?${q}`)).json()) as { data: ApiRecord[]; next_page: number | null };
    out.push(...body.data);
    page = body.next_page;
  }
  return out;
}

export const isDayFirst = (v: unknown) => typeof v === 'string' && /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/.test(v);

/** The cleaned row of a record: default category, two-decimal amount, ISO UTC date. */
export function expectedRow(r: ApiRecord): Row {
  const date = String(r.transaction_date);
  const m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}:\d{2}:\d{2})$/.exec(date);
  return {
    transaction_id: String(r.transaction_id),
    customer_id: String(r.customer_id),
    product_category: r.product_category == null ? 'uncategorized' : String(r.product_category),
    amount: Number(r.transaction_amount).toFixed(2),
    date: m ? `${m[3]}-${m[2]}-${m[1]}T${m[4]}Z` : date,
    status: String(r.status),
    last_modified: String(r.last_modified),
    reverses: r.reverses == null ? null : String(r.reverses),
  };
}

/** One row per transaction id (the last listed copy), by id. */
export function expectedRows(records: ApiRecord[]): Map<string, Row> {
  return new Map(records.map((r) => [String(r.transaction_id), expectedRow(r)]));
}

export const sortedRows = (rows: Map<string, Row>) => [...rows.values()].sort((a, b) => (a.transaction_id < b.transaction_id ? -1 : 1));

/** The stored table in the same shape as `expectedRow`. */
export async function storedRows(pool: pg.Pool): Promise<Row[]> {
  const { rows } = await pool.query<Row>(`
    SELECT transaction_id, customer_id, product_category, transaction_amount::text AS amount,
      to_char(transaction_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS date, status,
      to_char(last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_modified, reverses
    FROM card_transactions ORDER BY transaction_id`);
  return rows;
}

export const latestModified = (records: ApiRecord[]) => records.map((r) => String(r.last_modified)).sort().at(-1)!;

/** The `modified_since` of each /transactions request from log index `from` on (null when not sent). */
export function sinceParams(api: FakeApi, from: number): Array<string | null> {
  return api.control.requests().slice(from).filter((r) => r.path.startsWith('/transactions'))
    .map((r) => new URL(r.path, 'http://x').searchParams.get('modified_since'));
}

const cents = (amount: string) => Math.round(Number(amount) * 100);
const money = (c: number) => (c / 100).toFixed(2);
/** Settled value in cents: approved rows and reversal entries. */
const value = (r: Row) => (r.status === 'approved' || r.reverses !== null ? cents(r.amount) : 0);

/** The three report answers, in the reports' column order, sorted as the reports sort. */
export function expectedReports(rows: Row[], logicalDate: Date) {
  const byCategory = new Map<string, { transactions: number; reversals: number; value: number }>();
  const byCustomer = new Map<string, { transactions: number; value: number }>();
  for (const r of rows) {
    const c = byCategory.get(r.product_category) ?? { transactions: 0, reversals: 0, value: 0 };
    if (r.reverses === null) c.transactions++;
    else c.reversals++;
    c.value += value(r);
    byCategory.set(r.product_category, c);
    const u = byCustomer.get(r.customer_id) ?? { transactions: 0, value: 0 };
    if (r.reverses === null) u.transactions++;
    u.value += value(r);
    byCustomer.set(r.customer_id, u);
  }
  const categories = [...byCategory].sort((a, b) => b[1].value - a[1].value || (a[0] < b[0] ? -1 : 1))
    .map(([k, c]) => [k, String(c.transactions), String(c.reversals), money(c.value)]);
  const customers = [...byCustomer].sort((a, b) => b[1].value - a[1].value || (a[0] < b[0] ? -1 : 1)).slice(0, 5)
    .map(([k, c]) => [k, String(c.transactions), money(c.value)]);
  const months: string[][] = [];
  for (let i = 12; i >= 1; i--) {
    const d = new Date(Date.UTC(logicalDate.getUTCFullYear(), logicalDate.getUTCMonth() - i, 1));
    const month = d.toISOString().slice(0, 7);
    const inMonth = rows.filter((r) => r.date.startsWith(month));
    months.push([month, String(inMonth.filter((r) => r.reverses === null).length), money(inMonth.reduce((s, r) => s + value(r), 0))]);
  }
  return { categories, customers, months };
}
