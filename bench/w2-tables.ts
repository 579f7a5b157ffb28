/**
 * W2 credit-platform tables at real size (5/20/300/800/3137/1600/20000/27600/138000/27600 rows)
 * generated in SQL with generate_series into the migrated `credit_platform` tables — deterministic,
 * with dirty rows planted by arithmetic (orphans, bad enums, leads before signup, over-limit
 * sellers, invoices that do not add up).
 */
import type pg from 'pg';

export const W2_ROWS = 5 + 20 + 300 + 800 + 3137 + 1600 + 20000 + 27600 + 138000 + 27600;

export const W2_DATA = `
INSERT INTO credit_platform.senior_account_managers SELECT g, 'SAM ' || g, 'sam' || g || '@example.com' FROM generate_series(1, 5) g;
INSERT INTO credit_platform.account_managers SELECT g, 'AM ' || g, 'am' || g || '@example.com', CASE WHEN g = 20 THEN 99 ELSE (g % 5) + 1 END
  FROM generate_series(1, 20) g;
INSERT INTO credit_platform.sellers SELECT g, 'Seller ' || g || ', Ltd.', CASE WHEN g % 97 = 0 THEN 'EU' WHEN g % 2 = 0 THEN 'GCC' ELSE 'AFRQ' END,
  date '2023-01-01' + (g * 7) % 365, 2000 + (g % 10) * 500, 5 + g % 20, round((g % 50) * 12.5, 2),
  CASE WHEN g = 300 THEN 77 ELSE (g % 20) + 1 END, (g % 5) + 1
  FROM generate_series(1, 300) g;
INSERT INTO credit_platform.credits SELECT g, CASE WHEN g % 199 = 0 THEN 9999 ELSE (g % 300) + 1 END,
  CASE WHEN g % 250 = 0 THEN 90000 ELSE 100 + (g * 37) % 1900 END,
  timestamp '2023-06-01 09:30:00.123456' + (g % 500) * interval '1 day' - CASE WHEN g % 40 = 0 THEN interval '400 days' ELSE interval '0' END,
  timestamp '2023-06-01 09:30:00.123456' + (g % 500) * interval '1 day' + CASE WHEN g % 100 = 0 THEN interval '-1 day' ELSE interval '30 days' END,
  (ARRAY['New','InReview','Approved','Paid','Deposit','Cancelled'])[(g % 6) + 1]
  FROM generate_series(1, 800) g;
INSERT INTO credit_platform.credit_histories SELECT CASE WHEN g = 3137 THEN 5000 ELSE (g % 800) + 1 END,
  CASE WHEN g % 523 = 0 THEN 'Lost' ELSE (ARRAY['New','InReview','Approved','Paid','Deposit','Cancelled'])[((g / 800) + g) % 6 + 1] END,
  timestamp '2024-01-01 00:00:00.000001' + g * interval '1 hour'
  FROM generate_series(1, 3137) g;
INSERT INTO credit_platform.credit_chat SELECT CASE WHEN g % 400 = 0 THEN 7000 + g ELSE (g % 800) + 1 END, (g % 25) + 1,
  CASE WHEN g % 333 = 0 THEN 'CEO' WHEN g % 2 = 0 THEN 'AM' ELSE 'SAM' END,
  timestamp '2024-02-01' + g * interval '7 minutes', 'message ' || g
  FROM generate_series(1, 1600) g;
INSERT INTO credit_platform.leads SELECT g, CASE WHEN g % 1999 = 0 THEN 8888 ELSE (g % 300) + 1 END,
  timestamp '2023-01-01 08:00:00.5' + ((g * 13) % 700) * interval '1 day',
  round(((g * 7919) % 100000) / 100.0, 2),
  CASE WHEN g % 2500 = 0 THEN 'Lost' ELSE (ARRAY['New','Contacted','Confirmed','Cancelled'])[(g % 4) + 1] END,
  CASE WHEN g % 3000 = 0 THEN 'Teleported' ELSE (ARRAY['Pending','Shipped','Delivered','Returned'])[(g / 4) % 4 + 1] END,
  CASE WHEN g % 3 = 0 THEN '' ELSE 'TRK' || g END
  FROM generate_series(1, 20000) g;
INSERT INTO credit_platform.invoices SELECT s.seller_id || '_' || to_char(date '2023-01-02' + w * 7, 'YYYYMMDD'),
  CASE WHEN s.seller_id = 1 AND w = 91 THEN 4242 ELSE s.seller_id END,
  date '2023-01-02' + w * 7, date '2023-01-08' + w * 7,
  round(((s.seller_id * 31 + w * 17) % 5000) + 0.1234, 4), round(((s.seller_id + w) % 90) + 0.5, 4),
  round(((s.seller_id * 3 + w) % 300)::numeric, 4), round(-0.0 + ((s.seller_id + w * 5) % 40), 4), 0
  FROM generate_series(1, 300) AS s(seller_id) CROSS JOIN generate_series(0, 91) AS w;
UPDATE credit_platform.invoices SET total = sales_amount - fees - credits_due + from_balance;
INSERT INTO credit_platform.invoice_items
  SELECT i.invoice_id, t.item_type, CASE t.item_type
      WHEN 'sales' THEN i.sales_amount + CASE WHEN hashtext(i.invoice_id) % 211 = 0 THEN 1.25 ELSE 0 END
      WHEN 'fees' THEN i.fees WHEN 'credits_due' THEN i.credits_due WHEN 'from_balance' THEN i.from_balance
      ELSE i.total + CASE WHEN hashtext(i.invoice_id) % 307 = 0 THEN 0.006 WHEN hashtext(i.invoice_id) % 311 = 0 THEN 0.004 ELSE 0 END END
  FROM credit_platform.invoices i CROSS JOIN unnest(ARRAY['sales','fees','credits_due','from_balance','total']) AS t(item_type);
INSERT INTO credit_platform.wallet_transactions SELECT 'WT_' || i.invoice_id, i.seller_id, CASE WHEN i.total < 0 THEN 'withdrawal' ELSE 'deposit' END,
  i.total + CASE WHEN hashtext(i.invoice_id) % 401 = 0 THEN 10 ELSE 0 END, i.period_end + 1
  FROM credit_platform.invoices i;
UPDATE credit_platform.credits c SET status = h.status FROM (
    SELECT DISTINCT ON (credit_id) credit_id, status FROM credit_platform.credit_histories ORDER BY credit_id, changed_at DESC
  ) h
  WHERE h.credit_id = c.credit_id AND c.credit_id % 37 <> 0 AND h.status <> 'Lost';`;

/** Fills the ten (migrated, empty) credit_platform tables, then ANALYZEs them. */
export async function fillW2Tables(client: pg.PoolClient | pg.Pool): Promise<void> {
  await client.query(W2_DATA);
  await client.query('ANALYZE');
}
