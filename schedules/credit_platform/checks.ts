/**
 * The credit platform's quality checks as `validate` options (WORKLOADS.md W2): key integrity,
 * every foreign key, every enum, the date and limit rules, credit outliers. Names match the
 * samples' truth. Dirty data warns (it is reported, never fails the run).
 */
import type { z } from 'zod';
import type { validateOptions } from '../../jobs/validate/options.ts';
import { latestFileSql } from './ledger.ts';
import { auditTableOf } from './loads.ts';
import { ENUM_COLUMNS, FOREIGN_KEYS, KEY_COLUMNS, qualified as q, type CreditTable } from './model.ts';

type ValidateInput = z.input<typeof validateOptions>;
type CheckInput = ValidateInput['checks'][number];

/**
 * Key integrity. The primary key makes the load refuse null and repeated keys, so these checks
 * count what the load refused from the file the table holds now: audit rows whose errors name the
 * key column with `rule` (`required`: empty key; `unique`: the key appeared earlier in the file —
 * the first occurrence loads, each later one counts once).
 */
function refusedKeys(table: CreditTable, key: string, rule: 'required' | 'unique'): CheckInput {
  const error = JSON.stringify([{ column: key, rule }]);
  return {
    name: `${rule === 'required' ? 'not_null' : 'unique'}_${table}`, kind: 'custom_sql', table: q(table), severity: 'warn',
    query: `SELECT DISTINCT a.line, a.raw FROM ${auditTableOf(table)} AS a
      JOIN (${latestFileSql(table)}) AS f ON a.run_id = f.run_id AND a.task_id = f.task_id AND a.file = f.path
      WHERE a.errors @> '${error}'::jsonb`,
  };
}

const keyed = Object.entries(KEY_COLUMNS) as Array<[CreditTable, string]>;

export const CREDIT_CHECKS: ValidateInput = {
  sampleLimit: 10,
  checks: [
    ...keyed.flatMap(([table, key]) => [refusedKeys(table, key, 'required'), refusedKeys(table, key, 'unique')]),
    ...FOREIGN_KEYS.map(({ name, table, column, parent, parentColumn }): CheckInput => ({
      name, kind: 'relationship', table: q(table), columns: [column], to: { table: q(parent), columns: [parentColumn] }, severity: 'warn',
    })),
    ...ENUM_COLUMNS.map(([table, column, values]): CheckInput => ({
      name: `accepted_${table}_${column}`, kind: 'accepted_values', table: q(table), column, values: [...values], severity: 'warn',
    })),
    {
      name: 'leads_after_signup', kind: 'expression', table: q('leads'), alias: 'lead', severity: 'warn',
      joins: [{ table: q('sellers'), alias: 'seller', on: 'seller.seller_id = lead.seller_id' }],
      expression: 'lead.created_at >= seller.signup_date',
    },
    {
      name: 'credits_after_signup', kind: 'expression', table: q('credits'), alias: 'credit', severity: 'warn',
      joins: [{ table: q('sellers'), alias: 'seller', on: 'seller.seller_id = credit.seller_id' }],
      expression: 'credit.issue_date >= seller.signup_date',
    },
    { name: 'credits_due_after_issue', kind: 'expression', table: q('credits'), severity: 'warn', expression: 'due_date > issue_date' },
    {
      name: 'sellers_within_limit', kind: 'expression', table: q('sellers'), alias: 'seller', severity: 'warn',
      joins: [{
        query: `SELECT seller_id, sum(amount) AS total FROM ${q('credits')} WHERE status <> 'Cancelled' GROUP BY seller_id`,
        alias: 'open_credit', on: 'open_credit.seller_id = seller.seller_id',
      }],
      expression: 'open_credit.total <= seller.credit_limit',
    },
    { name: 'credit_amount_outliers', kind: 'outlier', table: q('credits'), column: 'amount', percentile: 0.99, severity: 'info' },
  ],
};

/** The checks on `tables` only: a table's checks stay together, so each task's scorecard is whole. */
export function checksOn(tables: readonly CreditTable[]): ValidateInput {
  const wanted = new Set(tables.map(q));
  return { ...CREDIT_CHECKS, checks: CREDIT_CHECKS.checks.filter((c) => wanted.has(c.table)) };
}
