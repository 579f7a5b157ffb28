/**
 * What the credit platform's data means beyond its table shapes (db/schema/credit_platform.ts):
 * the file keys, every foreign key (not constraints: checks find the orphans), the enum values and
 * which invoice column each item type sums to. The DAG and the sample generator both read it.
 */
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { CREDIT_PLATFORM_TABLES } from '../../db/schema/credit_platform.ts';
import { TributaryError } from '../../engine/errors.ts';

export const SCHEMA = 'credit_platform';
export type CreditTable = keyof typeof CREDIT_PLATFORM_TABLES;
/** The ten tables in foreign-key order (parents first). */
export const CREDIT_TABLES = Object.keys(CREDIT_PLATFORM_TABLES) as CreditTable[];

/** `credit_platform.<table>`. */
export const qualified = (table: CreditTable): string => `${SCHEMA}.${table}`;

/** Primary key columns of a warehouse table: its key column, or its natural key. */
export function primaryKeyOf(table: PgTable): string[] {
  const config = getTableConfig(table);
  const single = config.columns.filter((c) => c.primary).map((c) => c.name);
  return single.length > 0 ? single : (config.primaryKeys[0]?.columns.map((c) => c.name) ?? []);
}

const primaryKeys = CREDIT_TABLES.map((t) => [t, primaryKeyOf(CREDIT_PLATFORM_TABLES[t])] as const);

/** The key column of the seven tables whose files have one. */
export const KEY_COLUMNS: Partial<Record<CreditTable, string>> = Object.fromEntries(
  primaryKeys.filter(([, key]) => key.length === 1).map(([t, key]) => [t, key[0]]),
);

/** The natural key (primary key) of the three tables whose files have no key column. */
export const NATURAL_KEYS: Partial<Record<CreditTable, readonly string[]>> = Object.fromEntries(
  primaryKeys.filter(([, key]) => key.length > 1),
);

export interface ForeignKey {
  /** Check name, as the samples' truth names it. */
  name: string;
  table: CreditTable;
  column: string;
  parent: CreditTable;
  /** The parent's key column. */
  parentColumn: string;
}

function fk(table: CreditTable, column: string, parent: CreditTable, suffix: string): ForeignKey {
  const parentColumn = KEY_COLUMNS[parent];
  if (parentColumn === undefined) throw new TributaryError('DAG_INVALID', `credit_platform: ${parent} has no key column to reference`);
  return { name: `fk_${table}_${suffix}`, table, column, parent, parentColumn };
}

/** Every foreign key of W2; the referenced column is the parent's key column. */
export const FOREIGN_KEYS: readonly ForeignKey[] = [
  fk('account_managers', 'sam_id', 'senior_account_managers', 'sam'),
  fk('sellers', 'am_id', 'account_managers', 'am'),
  fk('sellers', 'sam_id', 'senior_account_managers', 'sam'),
  fk('credits', 'seller_id', 'sellers', 'seller'),
  fk('credit_histories', 'credit_id', 'credits', 'credit'),
  fk('credit_chat', 'credit_id', 'credits', 'credit'),
  fk('leads', 'seller_id', 'sellers', 'seller'),
  fk('invoices', 'seller_id', 'sellers', 'seller'),
  fk('invoice_items', 'invoice_id', 'invoices', 'invoice'),
  fk('wallet_transactions', 'seller_id', 'sellers', 'seller'),
];

export const CREDIT_STATUSES = ['New', 'InReview', 'Approved', 'Paid', 'Deposit', 'Cancelled'] as const;
export const LEAD_STATUSES = ['New', 'Contacted', 'Confirmed', 'Cancelled'] as const;
export const SHIPPING_STATUSES = ['Pending', 'Shipped', 'Delivered', 'Returned'] as const;
export const MARKETS = ['GCC', 'AFRQ'] as const;
export const CHAT_ROLES = ['AM', 'SAM'] as const;
export const ITEM_TYPES = ['sales', 'fees', 'credits_due', 'from_balance', 'total'] as const;
export type ItemType = (typeof ITEM_TYPES)[number];
export const WALLET_TYPES = ['deposit', 'withdrawal'] as const;

/** Every enum column and its values (exact match). */
export const ENUM_COLUMNS: ReadonlyArray<readonly [CreditTable, string, readonly string[]]> = [
  ['sellers', 'market', MARKETS],
  ['credits', 'status', CREDIT_STATUSES],
  ['credit_histories', 'status', CREDIT_STATUSES],
  ['credit_chat', 'role', CHAT_ROLES],
  ['leads', 'status', LEAD_STATUSES],
  ['leads', 'shipping_status', SHIPPING_STATUSES],
  ['invoice_items', 'item_type', ITEM_TYPES],
  ['wallet_transactions', 'type', WALLET_TYPES],
];

/** Invoice column each item type sums to, in file order. */
export const INVOICE_AMOUNT_COLUMNS: Record<ItemType, string> = {
  sales: 'sales_amount', fees: 'fees', credits_due: 'credits_due', from_balance: 'from_balance', total: 'total',
};
