/**
 * The W2 credit platform's quality suite as plain option objects: `W2_VALIDATE` for a `validate`
 * task, `W2_RECONCILE` for a `reconcile` task. Check names match samples/w2-schema.ts (the truth).
 * Null or duplicate keys fail the task (error); dirty data (orphans, enums, rules) is reported (warn).
 */

const KEYS: Record<string, string> = {
  senior_account_managers: 'sam_id', account_managers: 'am_id', sellers: 'seller_id', credits: 'credit_id',
  leads: 'lead_id', invoices: 'invoice_id', wallet_transactions: 'transaction_id',
};

/** [check name, table, column, referenced table] — every foreign key of W2. */
const FOREIGN_KEYS: Array<[string, string, string, string]> = [
  ['fk_account_managers_sam', 'account_managers', 'sam_id', 'senior_account_managers'],
  ['fk_sellers_am', 'sellers', 'am_id', 'account_managers'],
  ['fk_sellers_sam', 'sellers', 'sam_id', 'senior_account_managers'],
  ['fk_credits_seller', 'credits', 'seller_id', 'sellers'],
  ['fk_credit_histories_credit', 'credit_histories', 'credit_id', 'credits'],
  ['fk_credit_chat_credit', 'credit_chat', 'credit_id', 'credits'],
  ['fk_leads_seller', 'leads', 'seller_id', 'sellers'],
  ['fk_invoices_seller', 'invoices', 'seller_id', 'sellers'],
  ['fk_invoice_items_invoice', 'invoice_items', 'invoice_id', 'invoices'],
  ['fk_wallet_transactions_seller', 'wallet_transactions', 'seller_id', 'sellers'],
];

const CREDIT_STATUSES = ['New', 'InReview', 'Approved', 'Paid', 'Deposit', 'Cancelled'];
const ENUMS: Array<[string, string, string[]]> = [
  ['sellers', 'market', ['GCC', 'AFRQ']],
  ['credits', 'status', CREDIT_STATUSES],
  ['credit_histories', 'status', CREDIT_STATUSES],
  ['credit_chat', 'role', ['AM', 'SAM']],
  ['leads', 'status', ['New', 'Contacted', 'Confirmed', 'Cancelled']],
  ['leads', 'shipping_status', ['Pending', 'Shipped', 'Delivered', 'Returned']],
  ['invoice_items', 'item_type', ['sales', 'fees', 'credits_due', 'from_balance', 'total']],
  ['wallet_transactions', 'type', ['deposit', 'withdrawal']],
];

/** Invoice column ↔ the item type whose amounts sum to it. */
const INVOICE_COLUMNS: Array<[string, string]> = [
  ['sales_amount', 'sales'], ['fees', 'fees'], ['credits_due', 'credits_due'], ['from_balance', 'from_balance'], ['total', 'total'],
];

export const W2_VALIDATE = {
  ensureIndexes: true,
  sampleLimit: 10,
  checks: [
    ...Object.entries(KEYS).flatMap(([table, key]) => [
      { name: `not_null_${table}`, kind: 'not_null', table, columns: [key] },
      { name: `unique_${table}`, kind: 'unique', table, columns: [key] },
    ]),
    ...FOREIGN_KEYS.map(([name, table, column, parent]) => ({
      name, kind: 'relationship', table, columns: [column], to: { table: parent, columns: [KEYS[parent]] }, severity: 'warn',
    })),
    ...ENUMS.map(([table, column, values]) => ({
      name: `accepted_${table}_${column}`, kind: 'accepted_values', table, column, values, severity: 'warn',
    })),
    {
      name: 'leads_after_signup', kind: 'expression', table: 'leads', alias: 'lead', severity: 'warn',
      joins: [{ table: 'sellers', alias: 'seller', on: 'seller.seller_id = lead.seller_id' }],
      expression: 'lead.created_at >= seller.signup_date',
    },
    {
      name: 'credits_after_signup', kind: 'expression', table: 'credits', alias: 'credit', severity: 'warn',
      joins: [{ table: 'sellers', alias: 'seller', on: 'seller.seller_id = credit.seller_id' }],
      expression: 'credit.issue_date >= seller.signup_date',
    },
    { name: 'credits_due_after_issue', kind: 'expression', table: 'credits', severity: 'warn', expression: 'due_date > issue_date' },
    {
      name: 'sellers_within_limit', kind: 'expression', table: 'sellers', alias: 'seller', severity: 'warn',
      joins: [{
        query: "SELECT seller_id, sum(amount) AS total FROM credits WHERE status <> 'Cancelled' GROUP BY seller_id",
        alias: 'open_credit', on: 'open_credit.seller_id = seller.seller_id',
      }],
      expression: 'open_credit.total <= seller.credit_limit',
    },
    { name: 'credit_amount_outliers', kind: 'outlier', table: 'credits', column: 'amount', percentile: 0.99 },
  ],
};

export const W2_RECONCILE = {
  sampleLimit: 10,
  reconciliations: [
    ...INVOICE_COLUMNS.map(([column, type]) => ({
      name: `invoice_${column}_matches_items`,
      left: { table: 'invoices', key: ['invoice_id'], value: column },
      right: { table: 'invoice_items', key: ['invoice_id'], value: 'amount', agg: 'sum', where: `item_type = '${type}'` },
      tolerance: { absolute: 0.005 },
      absentAs: { right: 0 }, // an invoice with no item of the type compares with 0
      failOn: ['mismatched', 'left_only'],
      severity: 'warn',
    })),
    {
      name: 'wallet_matches_invoice_total',
      left: { query: 'SELECT substr(transaction_id, 4) AS invoice_id, amount FROM wallet_transactions', key: ['invoice_id'], value: 'amount' },
      right: { table: 'invoices', key: ['invoice_id'], value: 'total' },
      tolerance: { absolute: 0.005 },
      failOn: ['mismatched', 'left_only'], // per wallet transaction; invoices without one are not counted
      severity: 'warn',
    },
    {
      name: 'credit_status_matches_history',
      compare: 'exact',
      left: { table: 'credits', key: ['credit_id'], value: 'status' },
      right: { table: 'credit_histories', key: ['credit_id'], value: 'status', agg: 'last', orderBy: 'changed_at' },
      failOn: ['mismatched'], // credits with at least one history row
      severity: 'warn',
    },
    {
      name: 'file_rows_accounted',
      left: { table: 'load_ledger', key: ['id'], value: 'rows_read', where: 'run_id = :run_id' },
      right: { table: 'load_ledger', key: ['id'], expression: 'rows_loaded + rows_rejected + rows_deduplicated', where: 'run_id = :run_id' },
    },
  ],
};
