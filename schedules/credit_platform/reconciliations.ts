/**
 * The credit platform's reconciliations as `reconcile` options (WORKLOADS.md W2): each invoice
 * column against the sum of its items of that type (within 0.005; fees by absolute value), each
 * wallet transaction against its invoice's total, each credit's status against its latest history
 * status, and each file's rows against loaded + refused. Names match the samples' truth; dirty
 * data warns.
 */
import type { z } from 'zod';
import type { reconcileOptions } from '../../jobs/reconcile/options.ts';
import { LATEST_FILES_SQL } from './ledger.ts';
import { INVOICE_AMOUNT_COLUMNS, qualified as q } from './model.ts';

type ReconcileInput = z.input<typeof reconcileOptions>;

type Reconciliation = ReconcileInput['reconciliations'][number];

/**
 * Item types compared by absolute value: real extracts write a fee item as a deduction, signed
 * opposite to the invoice's `fees` (an invoice has one item per type, so sum(abs) = abs(sum)).
 */
const BY_ABSOLUTE_VALUE: ReadonlySet<string> = new Set(['fees']);

/**
 * Each invoice column against the sum of its items of that type (no such item: 0). The 0.005
 * tolerance also absorbs the float noise of real amounts (`1345.6800000000003`, `59.480004`).
 */
const invoiceItems: Reconciliation[] = Object.entries(INVOICE_AMOUNT_COLUMNS).map(([type, column]) => ({
  name: `invoice_${column}_matches_items`,
  left: BY_ABSOLUTE_VALUE.has(type)
    ? { table: q('invoices'), key: ['invoice_id'], expression: `abs(src.${column})` }
    : { table: q('invoices'), key: ['invoice_id'], value: column },
  right: {
    table: q('invoice_items'), key: ['invoice_id'], agg: 'sum', where: `item_type = '${type}'`,
    ...(BY_ABSOLUTE_VALUE.has(type) ? { expression: 'abs(src.amount)' } : { value: 'amount' }),
  },
  tolerance: { absolute: 0.005 },
  absentAs: { right: 0 },
  failOn: ['mismatched', 'left_only'],
  severity: 'warn',
}));

const walletAndCredits: Reconciliation[] = [
  {
    name: 'wallet_matches_invoice_total',
    left: { query: `SELECT substr(transaction_id, 4) AS invoice_id, amount FROM ${q('wallet_transactions')}`, key: ['invoice_id'], value: 'amount' },
    right: { table: q('invoices'), key: ['invoice_id'], value: 'total' },
    tolerance: { absolute: 0.005 },
    failOn: ['mismatched', 'left_only'], // per wallet transaction; invoices without one are not counted
    severity: 'warn',
  },
  {
    name: 'credit_status_matches_history',
    compare: 'exact',
    left: { table: q('credits'), key: ['credit_id'], value: 'status' },
    right: { table: q('credit_histories'), key: ['credit_id'], value: 'status', agg: 'last', orderBy: 'changed_at' },
    failOn: ['mismatched'], // credits with at least one history row
    severity: 'warn',
  },
];

const fileRows: Reconciliation = {
  name: 'file_rows_accounted', // an accounting gap is a real failure: severity error
  left: { query: LATEST_FILES_SQL, key: ['table_name'], value: 'rows_read' },
  right: { query: LATEST_FILES_SQL, key: ['table_name'], expression: 'src.rows_loaded + src.rows_rejected + src.rows_deduplicated' },
};

const options = (reconciliations: Reconciliation[]): ReconcileInput => ({ sampleLimit: 10, reconciliations });

/** Every reconciliation of W2. */
export const CREDIT_RECONCILIATIONS = options([...invoiceItems, ...walletAndCredits, fileRows]);
/** Those that read neither invoice_items nor the ledger: they can run while invoice_items loads. */
export const WALLET_AND_CREDIT_RECONCILIATIONS = options(walletAndCredits);
/** Invoice columns ↔ items and every file's rows: after all ten loads. */
export const ITEM_AND_FILE_RECONCILIATIONS = options([...invoiceItems, fileRows]);

/** Which statuses fail each reconciliation, by name (reconcile's default: all three). */
export const FAIL_ON: Record<string, readonly string[]> = Object.fromEntries(
  CREDIT_RECONCILIATIONS.reconciliations.map((r) => [r.name, r.failOn ?? ['mismatched', 'left_only', 'right_only']]),
);
