/**
 * W2 credit platform warehouse: the ten extract tables in schema `credit_platform`, columns as the
 * files name them. Keyed tables use their key column; the three without one use their natural key
 * (never a random id, so re-loading a file upserts the same rows). No FK constraints: orphans are
 * loaded and found by the quality checks. Money columns carry a `currency` (default USD).
 */
import { date, integer, numeric, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const creditPlatformSchema = pgSchema('credit_platform');

/**
 * Money as unconstrained `numeric` (migration 0008): real extracts carry float noise and 5–6
 * decimals (`1345.6800000000003`, `59.480004`), kept exactly as written; the reconciliations
 * compare within 0.005, so the noise never counts as a difference.
 */
const money = (name: string) => numeric(name);
const stamp = (name: string) => timestamp(name, { precision: 6, mode: 'string' });
const day = (name: string) => date(name, { mode: 'string' });
/** Currency of a money table's amounts (migration 0006_multi_currency; files without it load as USD). */
const currency = () => text('currency').notNull().default('USD');

export const seniorAccountManagers = creditPlatformSchema.table('senior_account_managers', {
  samId: integer('sam_id').primaryKey(),
  samName: text('sam_name').notNull(),
  samEmail: text('sam_email').notNull(),
});

export const accountManagers = creditPlatformSchema.table('account_managers', {
  amId: integer('am_id').primaryKey(),
  amName: text('am_name').notNull(),
  amEmail: text('am_email').notNull(),
  samId: integer('sam_id').notNull(),
});

export const sellers = creditPlatformSchema.table('sellers', {
  sellerId: integer('seller_id').primaryKey(),
  sellerName: text('seller_name').notNull(),
  market: text('market').notNull(),
  signupDate: day('signup_date').notNull(),
  creditLimit: money('credit_limit').notNull(),
  avgWeeklyLeads: integer('avg_weekly_leads').notNull(),
  initialWallet: money('initial_wallet').notNull(),
  amId: integer('am_id').notNull(),
  samId: integer('sam_id').notNull(),
  currency: currency(),
});

export const credits = creditPlatformSchema.table('credits', {
  creditId: integer('credit_id').primaryKey(),
  sellerId: integer('seller_id').notNull(),
  amount: money('amount').notNull(),
  issueDate: stamp('issue_date').notNull(),
  dueDate: stamp('due_date').notNull(),
  status: text('status').notNull(),
  currency: currency(),
});

export const creditHistories = creditPlatformSchema.table(
  'credit_histories',
  {
    creditId: integer('credit_id').notNull(),
    status: text('status').notNull(),
    changedAt: stamp('changed_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.creditId, t.status, t.changedAt] })],
);

export const creditChat = creditPlatformSchema.table(
  'credit_chat',
  {
    creditId: integer('credit_id').notNull(),
    userId: integer('user_id').notNull(),
    role: text('role').notNull(),
    messageTime: stamp('message_time').notNull(),
    message: text('message').notNull(),
  },
  (t) => [primaryKey({ columns: [t.creditId, t.userId, t.role, t.messageTime] })],
);

export const leads = creditPlatformSchema.table('leads', {
  leadId: integer('lead_id').primaryKey(),
  sellerId: integer('seller_id').notNull(),
  createdAt: stamp('created_at').notNull(),
  amount: money('amount').notNull(),
  status: text('status').notNull(),
  shippingStatus: text('shipping_status').notNull(),
  trackingNumber: text('tracking_number'),
  currency: currency(),
});

export const invoices = creditPlatformSchema.table('invoices', {
  invoiceId: text('invoice_id').primaryKey(),
  sellerId: integer('seller_id').notNull(),
  periodStart: day('period_start').notNull(),
  periodEnd: day('period_end').notNull(),
  salesAmount: money('sales_amount').notNull(),
  fees: money('fees').notNull(),
  creditsDue: money('credits_due').notNull(),
  fromBalance: money('from_balance').notNull(),
  total: money('total').notNull(),
  currency: currency(),
});

export const invoiceItems = creditPlatformSchema.table(
  'invoice_items',
  {
    invoiceId: text('invoice_id').notNull(),
    itemType: text('item_type').notNull(),
    amount: money('amount').notNull(),
    currency: currency(),
  },
  (t) => [primaryKey({ columns: [t.invoiceId, t.itemType] })],
);

export const walletTransactions = creditPlatformSchema.table('wallet_transactions', {
  transactionId: text('transaction_id').primaryKey(),
  sellerId: integer('seller_id').notNull(),
  type: text('type').notNull(),
  amount: money('amount').notNull(),
  createdAt: day('created_at').notNull(),
  currency: currency(),
});

/** The ten tables by name, in foreign-key (load) order. */
export const CREDIT_PLATFORM_TABLES = {
  senior_account_managers: seniorAccountManagers,
  account_managers: accountManagers,
  sellers,
  credits,
  credit_histories: creditHistories,
  credit_chat: creditChat,
  leads,
  invoices,
  invoice_items: invoiceItems,
  wallet_transactions: walletTransactions,
} as const;
