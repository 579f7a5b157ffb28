/**
 * The ten `load` tasks' options, read off the warehouse tables (db/schema/credit_platform.ts): the
 * file the `extracts` sensor found for the table (its result `by.table.<table>`), upserted by the
 * table's primary key. Columns with a default (currency) are not in the files and filled by the
 * table. Loads are permissive on purpose: only types and empty keys refuse a row; orphans and bad
 * enum values load and the checks report them.
 */
import { getTableConfig, type PgColumn } from 'drizzle-orm/pg-core';
import { CREDIT_PLATFORM_TABLES } from '../../db/schema/credit_platform.ts';
import { TributaryError } from '../../engine/errors.ts';
import type { LoadOptionsInput } from '../../jobs/load/options.ts';
import { KEY_COLUMNS, primaryKeyOf, qualified, type CreditTable } from './model.ts';

type LoadColumn = LoadOptionsInput['columns'][number];

/** The audit table a table's load writes refused rows to (the key checks read it). */
export const auditTableOf = (table: CreditTable): string => `audit.${qualified(table).replace('.', '_')}_rejects`;

/** One warehouse column as a load column: its type, required when NOT NULL. */
function loadColumn(column: PgColumn): LoadColumn {
  const base = { name: column.name, required: column.notNull };
  const sqlType = column.getSQLType();
  const numeric = /^numeric\((\d+), (\d+)\)$/.exec(sqlType);
  if (numeric) return { ...base, type: 'numeric', precision: Number(numeric[1]), scale: Number(numeric[2]) };
  if (sqlType === 'numeric') return { ...base, type: 'numeric' }; // unconstrained: every decimal as written
  if (sqlType === 'integer') return { ...base, type: 'integer' };
  if (sqlType === 'date') return { ...base, type: 'date' };
  if (sqlType.startsWith('timestamp')) return { ...base, type: 'timestamp' };
  if (sqlType === 'text') return { ...base, type: 'text' };
  throw new TributaryError('DAG_INVALID', `credit_platform: no load column type for ${column.name} ${sqlType}`);
}

/**
 * Load options of one table. A repeated key column value is refused (`unique: 'reject'`: the
 * first row wins and the later one is audited), so refused rows = null keys + repeated keys.
 */
export function loadOptionsOf(table: CreditTable): LoadOptionsInput {
  const drizzleTable = CREDIT_PLATFORM_TABLES[table];
  const keyColumn = KEY_COLUMNS[table];
  const columns = getTableConfig(drizzleTable).columns
    .filter((c) => !c.hasDefault)
    .map((c) => (c.name === keyColumn ? { ...loadColumn(c), unique: 'reject' as const } : loadColumn(c)));
  return {
    source: { fromUpstream: { task: 'extracts', path: `by.table.${table}` } },
    target: qualified(table),
    mode: 'upsert',
    key: primaryKeyOf(drizzleTable),
    columns,
    audit: auditTableOf(table),
    createTable: false,
  };
}
