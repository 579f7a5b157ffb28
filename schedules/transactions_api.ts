/**
 * W4 transactions_api: every day, extract the card transactions changed since the last
 * successful extract from a paged JSON API (retrying 5xx, 429 and timeouts), clean them, upsert
 * them by transaction_id — a modified or backdated one updates its row and leaves a change record
 * in audit.card_transactions_history — then write three reports.
 *
 * Reversals: the API sends a reversal as its own entry (status `reversed`, negative amount,
 * `reverses` = the original's id). It is kept as its own row; the original is never changed or
 * deleted, and the history gets a `reversal` row keyed by the original.
 *
 * Report semantics: value = the settled amount, i.e. approved transactions plus reversal entries
 * (negative), so a reversed transaction nets to zero; pending and declined ones carry no value.
 * `transactions` counts original entries of any status; reversal entries are counted apart. A
 * reversal is dated when it happened (its own transaction_date), so it lands in that month.
 */
import { z } from 'zod';
import { defineDag } from '../engine/dag.ts';

/** Settled value of a row: approved amounts and reversal entries (already negative). */
const VALUE = `CASE WHEN status = 'approved' OR reverses IS NOT NULL THEN transaction_amount ELSE 0 END`;

const BY_CATEGORY = `
SELECT product_category,
  count(*) FILTER (WHERE reverses IS NULL)::int AS transactions,
  count(*) FILTER (WHERE reverses IS NOT NULL)::int AS reversals,
  sum(${VALUE})::numeric(16,2) AS net_value
FROM card_transactions
GROUP BY product_category
ORDER BY net_value DESC, product_category`;

const TOP_CUSTOMERS = `
SELECT customer_id,
  count(*) FILTER (WHERE reverses IS NULL)::int AS transactions,
  sum(${VALUE})::numeric(16,2) AS total_value
FROM card_transactions
GROUP BY customer_id
ORDER BY total_value DESC, customer_id
LIMIT 5`;

/** The twelve calendar months (UTC) before the logical date's month, every month listed. */
const MONTHLY_SPEND = `
WITH months AS (
  SELECT generate_series(
    date_trunc('month', CAST(:logical_date AS timestamptz) AT TIME ZONE 'UTC') - interval '12 months',
    date_trunc('month', CAST(:logical_date AS timestamptz) AT TIME ZONE 'UTC') - interval '1 month',
    interval '1 month') AS month
)
SELECT to_char(m.month, 'YYYY-MM') AS month,
  count(t.transaction_id) FILTER (WHERE t.reverses IS NULL)::int AS transactions,
  coalesce(sum(CASE WHEN t.status = 'approved' OR t.reverses IS NOT NULL THEN t.transaction_amount END), 0)::numeric(16,2) AS spend
FROM months m
LEFT JOIN card_transactions t ON date_trunc('month', t.transaction_date AT TIME ZONE 'UTC') = m.month
GROUP BY m.month
ORDER BY m.month`;

const report = (query: string, fileName: string) => ({
  kind: 'report',
  upstream: ['extract'],
  options: { query, outputDir: '{params.reportDir}', fileName },
});

export default defineDag({
  id: 'transactions_api',
  description: 'W4: incremental extract of card transactions from an HTTP API → upsert with change history → three reports',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  catchup: false,
  params: {
    apiUrl: z.string().default('http://127.0.0.1:8787/transactions').describe('URL of the paged transactions API (the fake source of `samples/` by default)'),
    reportDir: z.string().default('.tributary/reports/transactions_api').describe('Folder the three reports are written to'),
  },
  tasks: {
    extract: {
      kind: 'extract',
      retries: 2,
      options: {
        url: '{params.apiUrl}',
        paging: { style: 'page', pageParam: 'page', sizeParam: 'page_size', size: 200, nextPagePath: 'next_page' },
        recordsPath: 'data',
        watermark: { column: 'last_modified', param: 'modified_since' },
        request: { timeoutMs: 10_000, retries: 6, backoffMs: 500, maxBackoffMs: 30_000 },
        target: 'card_transactions',
        key: ['transaction_id'],
        columns: [
          { name: 'transaction_id', type: 'text', minLength: 1, maxLength: 40 },
          { name: 'customer_id', type: 'text', minLength: 1, maxLength: 40 },
          { name: 'product_category', type: 'text', maxLength: 40, coerce: ['trim', 'lowercase'] },
          { name: 'transaction_amount', type: 'numeric', precision: 14, scale: 2 },
          { name: 'transaction_date', type: 'timestamptz' },
          { name: 'status', type: 'enum', values: ['pending', 'approved', 'declined', 'reversed'], coerce: ['lowercase'] },
          { name: 'last_modified', type: 'timestamptz' },
          { name: 'reverses', type: 'text', required: false, maxLength: 40 },
        ],
        // A missing category is kept (counted as coercion product_category.default), not refused.
        defaults: { product_category: 'uncategorized' },
        timestampFormats: { transaction_date: ['DD/MM/YYYY HH:mm:ss'] },
        reversal: { column: 'reverses' },
      },
    },
    by_category: report(BY_CATEGORY, 'Transactions_By_Category_{yyyymmdd}.csv'),
    top_customers: report(TOP_CUSTOMERS, 'Top_Customers_{yyyymmdd}.csv'),
    monthly_spend: report(MONTHLY_SPEND, 'Monthly_Spend_{yyyymmdd}.csv'),
  },
});
