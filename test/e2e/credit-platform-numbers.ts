/**
 * The credit platform's money as the warehouse holds it, counted with this file's own SQL: per
 * money column (found in information_schema) its declared type, exact sum and the number formats
 * it kept (float noise = 10+ decimals, 5–9 decimals, `-0.0` = a zero of scale 1); invoice/item
 * pairs that differ by float noise only; fee items signed opposite to their invoice; refusals
 * whose reason is not a null or repeated key.
 */
import type pg from 'pg';
import { auditTableOf } from '../../schedules/credit_platform/loads.ts';
import { CREDIT_TABLES } from '../../schedules/credit_platform/model.ts';

export interface WarehouseNumbers {
  /** `table.column` → declared numeric type (`numeric` when unconstrained). */
  types: Record<string, string>;
  /** `table.column` → exact sum as text. */
  sums: Record<string, string>;
  formats: Record<string, { float_noise: number; extra_decimals: number; negative_zero: number }>;
  itemsOffByNoise: number;
  feesOpposite: number;
  /** Audit rows (any run) with an error other than `required` / `unique`. */
  otherRefusals: number;
}

const INVOICE_COLUMNS = { sales: 'sales_amount', fees: 'fees', credits_due: 'credits_due', from_balance: 'from_balance', total: 'total' };

export async function warehouseNumbers(pool: pg.Pool): Promise<WarehouseNumbers> {
  const out: WarehouseNumbers = { types: {}, sums: {}, formats: {}, itemsOffByNoise: 0, feesOpposite: 0, otherRefusals: 0 };
  const { rows: columns } = await pool.query<{ table_name: string; column_name: string; type: string }>(
    `SELECT table_name, column_name, CASE WHEN numeric_precision IS NULL THEN 'numeric' ELSE format('numeric(%s,%s)', numeric_precision, numeric_scale) END AS type
     FROM information_schema.columns WHERE table_schema = 'credit_platform' AND data_type = 'numeric' AND table_name = ANY($1) ORDER BY table_name, ordinal_position`,
    [CREDIT_TABLES],
  );
  for (const { table_name: t, column_name: c, type } of columns) {
    const [r] = (await pool.query<{ noise: number; extra: number; zero: number; sum: string }>(
      `SELECT count(*) FILTER (WHERE scale(x."${c}") >= 10)::int AS noise, count(*) FILTER (WHERE scale(x."${c}") BETWEEN 5 AND 9)::int AS extra,
              count(*) FILTER (WHERE x."${c}" = 0 AND scale(x."${c}") = 1)::int AS zero, coalesce(sum(x."${c}"), 0)::text AS sum
       FROM credit_platform."${t}" AS x`,
    )).rows;
    out.types[`${t}.${c}`] = type;
    out.sums[`${t}.${c}`] = r.sum;
    const f = (out.formats[t] ??= { float_noise: 0, extra_decimals: 0, negative_zero: 0 });
    f.float_noise += r.noise;
    f.extra_decimals += r.extra;
    f.negative_zero += r.zero;
  }
  for (const [type, column] of Object.entries(INVOICE_COLUMNS)) {
    const [left, right] = type === 'fees' ? [`abs(i."${column}")`, 'abs(it.amount)'] : [`i."${column}"`, 'it.amount'];
    const { rows: [r] } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM credit_platform.invoices i JOIN credit_platform.invoice_items it ON it.invoice_id = i.invoice_id AND it.item_type = $1
       WHERE ${left} <> ${right} AND abs(${left} - ${right}) < 0.0001`,
      [type],
    );
    out.itemsOffByNoise += r.n;
  }
  out.feesOpposite = (await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM credit_platform.invoices i JOIN credit_platform.invoice_items it ON it.invoice_id = i.invoice_id AND it.item_type = 'fees'
     WHERE sign(i.fees) * sign(it.amount) < 0`,
  )).rows[0].n;
  for (const table of CREDIT_TABLES) {
    out.otherRefusals += (await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${auditTableOf(table)} AS a
       WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(a.errors) AS e WHERE e->>'rule' NOT IN ('required', 'unique'))`,
    )).rows[0].n;
  }
  return out;
}
