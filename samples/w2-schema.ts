/**
 * W2 credit platform: the ten tables (columns in file order, keys, FK order), their real row
 * counts, and the catalog of every quality check and reconciliation the truth reports on. Keys,
 * foreign keys and enum values are the DAG's (schedules/credit_platform/model.ts), defined once.
 */
import {
  CHAT_ROLES, CREDIT_STATUSES, ENUM_COLUMNS, FOREIGN_KEYS, INVOICE_AMOUNT_COLUMNS, ITEM_TYPES, KEY_COLUMNS, LEAD_STATUSES,
  MARKETS, NATURAL_KEYS, SHIPPING_STATUSES, WALLET_TYPES, type ItemType,
} from '../schedules/credit_platform/model.ts';

export {
  CHAT_ROLES, CREDIT_STATUSES, INVOICE_AMOUNT_COLUMNS, ITEM_TYPES, LEAD_STATUSES, MARKETS, SHIPPING_STATUSES, WALLET_TYPES, type ItemType,
};

export const W2_TABLES = {
  senior_account_managers: ['sam_id', 'sam_name', 'sam_email'],
  account_managers: ['am_id', 'am_name', 'am_email', 'sam_id'],
  sellers: ['seller_id', 'seller_name', 'market', 'signup_date', 'credit_limit', 'avg_weekly_leads', 'initial_wallet', 'am_id', 'sam_id'],
  credits: ['credit_id', 'seller_id', 'amount', 'issue_date', 'due_date', 'status'],
  credit_histories: ['credit_id', 'status', 'changed_at'],
  credit_chat: ['credit_id', 'user_id', 'role', 'message_time', 'message'],
  leads: ['lead_id', 'seller_id', 'created_at', 'amount', 'status', 'shipping_status', 'tracking_number'],
  invoices: ['invoice_id', 'seller_id', 'period_start', 'period_end', 'sales_amount', 'fees', 'credits_due', 'from_balance', 'total'],
  invoice_items: ['invoice_id', 'item_type', 'amount'],
  wallet_transactions: ['transaction_id', 'seller_id', 'type', 'amount', 'created_at'],
} as const;
export type W2Table = keyof typeof W2_TABLES;
/** Foreign-key order: load in this order. */
export const W2_TABLE_ORDER = Object.keys(W2_TABLES) as W2Table[];
/** Row counts of the real extracts (size = 1.0). */
export const W2_REAL_COUNTS: Record<W2Table, number> = {
  senior_account_managers: 5, account_managers: 20, sellers: 300, credits: 800, credit_histories: 3137,
  credit_chat: 1600, leads: 20000, invoices: 27600, invoice_items: 138000, wallet_transactions: 27600,
};
/** Key column of each keyed table (the warehouse's); the other three have only natural (deterministic) keys. */
export const W2_KEYS: Partial<Record<W2Table, string>> = KEY_COLUMNS;
/** The natural key (the warehouse's primary key) of the tables without a key column. */
export const W2_NATURAL_KEYS: Partial<Record<W2Table, readonly string[]>> = NATURAL_KEYS;

export interface W2CheckDef {
  name: string;
  table: W2Table;
  kind: 'not_null' | 'unique' | 'foreign_key' | 'accepted_values' | 'rule' | 'outlier';
  column: string;
  references?: string;
  values?: readonly string[];
  severity?: 'info';
  description: string;
}

/** Every quality check, by name. Failing counts are rows of `table` (sellers for the limit rule). */
export const W2_CHECKS: readonly W2CheckDef[] = [
  ...Object.entries(W2_KEYS).flatMap(([table, column]) => [
    { name: `not_null_${table}`, table: table as W2Table, kind: 'not_null' as const, column, description: `${table}.${column} is not null` },
    {
      name: `unique_${table}`, table: table as W2Table, kind: 'unique' as const, column,
      description: `${table}.${column} is unique; failing = rows whose key already appeared earlier in the file`,
    },
  ]),
  ...FOREIGN_KEYS.map(({ name, table, column, parent, parentColumn }) => ({
    name, table, kind: 'foreign_key' as const, column, references: `${parent}.${parentColumn}`,
    description: `${table}.${column} exists in ${parent}; failing = orphan rows`,
  })),
  ...ENUM_COLUMNS.map(([table, column, values]) => ({
    name: `accepted_${table}_${column}`, table, kind: 'accepted_values' as const, column, values,
    description: `${table}.${column} in (${values.join(', ')}), exact match`,
  })),
  { name: 'leads_after_signup', table: 'leads', kind: 'rule', column: 'created_at', description: 'leads.created_at >= seller.signup_date (leads whose seller exists)' },
  { name: 'credits_after_signup', table: 'credits', kind: 'rule', column: 'issue_date', description: 'credits.issue_date >= seller.signup_date (credits whose seller exists)' },
  { name: 'credits_due_after_issue', table: 'credits', kind: 'rule', column: 'due_date', description: 'credits.due_date > credits.issue_date' },
  {
    name: 'sellers_within_limit', table: 'sellers', kind: 'rule', column: 'credit_limit',
    description: "sum(credits.amount) where status <> 'Cancelled' <= sellers.credit_limit; failing = sellers",
  },
  {
    name: 'credit_amount_outliers', table: 'credits', kind: 'outlier', column: 'amount', severity: 'info',
    description: 'credits.amount > percentile_cont(0.99) of all credit amounts in the file',
  },
];

export interface W2ReconciliationDef { name: string; left: string; right: string; description: string }

/** Every reconciliation; failing counts are invoices / wallet transactions / credits. */
export const W2_RECONCILIATIONS: readonly W2ReconciliationDef[] = [
  ...Object.entries(INVOICE_AMOUNT_COLUMNS).map(([type, column]) => ({
    name: `invoice_${column}_matches_items`, left: `invoices.${column}`, right: `sum(invoice_items.amount) where item_type = '${type}'`,
    description: type === 'fees'
      ? `per invoice, ||fees| - |sum of its 'fees' items|| <= 0.005 (a fee item may be written as a deduction; no such item: sum 0)`
      : `per invoice, |${column} - sum of its '${type}' items| <= 0.005 (no such item: sum 0)`,
  })),
  {
    name: 'wallet_matches_invoice_total', left: 'wallet_transactions.amount', right: 'invoices.total',
    description: "per wallet transaction WT_<invoice_id>, |amount - invoice total| <= 0.005",
  },
  {
    name: 'credit_status_matches_history', left: 'credits.status', right: 'last credit_histories.status by changed_at',
    description: 'per credit having at least one history row, status = the status of its latest history row',
  },
];
