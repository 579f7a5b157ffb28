/**
 * Checks that are not one predicate per row: row_count (rows failing = rows missing or extra),
 * freshness (1 failing when the newest value is too old) and custom_sql (a trusted query whose
 * rows are the failing ones). Each is ONE statement returning evaluated, failing and samples.
 */
import type { Json } from '../../engine/types.ts';
import type { Check } from './options.ts';
import { FAILING_ROWS_TABLE, type RowScope } from './row-checks.ts';
import { column as qi, table as qt } from '../sql/identifiers.ts';
import type { SqlParams } from '../sql/named-params.ts';

export type RowCountCheck = Extract<Check, { kind: 'row_count' }>;
export type FreshnessCheck = Extract<Check, { kind: 'freshness' }>;
export type CustomSqlCheck = Extract<Check, { kind: 'custom_sql' }>;

export interface Measured {
  evaluated: number;
  failing: number;
  sampleKeys: Json[];
  sampleRows: Json[];
}

type Row = Record<string, unknown>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** Rows counted (with `where`), and the count to compare with when `equalTo` is given. */
export function rowCountStatement(check: RowCountCheck, scope: RowScope, params: SqlParams): string {
  let expected = 'NULL::bigint';
  const other = check.equalTo;
  if (other) {
    const from = other.table ? qt(other.table, scope.user) : `(${params.sql(other.query ?? '', scope.user)})`;
    const where = other.where ? params.sql(other.where, scope.user) : 'true';
    expected = `(SELECT count(*) FROM ${from} AS __other WHERE ${where})`;
  }
  return `/* check ${check.name} */
SELECT (SELECT count(*) FROM ${scope.table.sql} AS ${scope.alias} WHERE ${scope.where}) AS evaluated, ${expected} AS expected`;
}

/** Rows failing = how far the count is outside [min, max] or from the other count. */
export function measureRowCount(check: RowCountCheck, row: Row): Measured {
  const actual = num(row.evaluated);
  const expected = row.expected === null || row.expected === undefined ? null : num(row.expected);
  let failing = 0;
  if (check.min !== undefined && actual < check.min) failing = Math.max(failing, check.min - actual);
  if (check.max !== undefined && actual > check.max) failing = Math.max(failing, actual - check.max);
  if (expected !== null) failing = Math.max(failing, Math.abs(actual - expected));
  const detail: Record<string, Json> = { actual };
  if (expected !== null) detail.expected = expected;
  if (check.min !== undefined) detail.min = check.min;
  if (check.max !== undefined) detail.max = check.max;
  return { evaluated: actual, failing, sampleKeys: [], sampleRows: failing > 0 ? [detail] : [] };
}

const UNIT_SECONDS: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86_400, week: 604_800 };

/** `36 hours` → 129600. The option's regex guarantees the shape. */
export function maxAgeSeconds(maxAge: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(second|minute|hour|day|week)s?\s*$/i.exec(maxAge);
  if (!m) throw new Error(`maxAge "${maxAge}" is not like "36 hours"`);
  return Number(m[1]) * UNIT_SECONDS[m[2].toLowerCase()];
}

export function freshnessStatement(check: FreshnessCheck, scope: RowScope, params: SqlParams, reference: Date): string {
  const c = `${scope.alias}.${qi(check.column, scope.user)}`;
  const at = params.add(reference);
  return `/* check ${check.name} */
SELECT count(*) AS evaluated, max(${c})::text AS latest,
       extract(epoch FROM (${at}::timestamptz - max(${c})::timestamptz))::float8 AS age_seconds
FROM ${scope.table.sql} AS ${scope.alias} WHERE ${scope.where}`;
}

/** One failing "row" when the newest value is older than maxAge, or there is none. */
export function measureFreshness(check: FreshnessCheck, row: Row): Measured {
  const limit = maxAgeSeconds(check.maxAge);
  const age = row.age_seconds === null || row.age_seconds === undefined ? null : Number(row.age_seconds);
  const stale = age === null || age > limit;
  const detail: Json = { latest: (row.latest as string | null) ?? null, age_seconds: age, max_age_seconds: limit };
  return { evaluated: num(row.evaluated), failing: stale ? 1 : 0, sampleKeys: [], sampleRows: stale ? [detail] : [] };
}

/**
 * custom_sql: the query's rows fail. With `markAs`, the checked table's rows whose `key` matches
 * a failing row are marked for the scorecard (the key columns exist in both).
 */
export function customSqlStatement(
  check: CustomSqlCheck,
  scope: RowScope,
  params: SqlParams,
  sampleLimit: number,
  markAs?: string,
): string {
  const keys = (check.key ?? []).map((k) => qi(k, scope.user));
  const order = keys.length > 0 ? ` ORDER BY ${keys.map((k) => `__f.${k}`).join(', ')}` : '';
  const sOrder = keys.length > 0 ? ` ORDER BY ${keys.map((k) => `__s.${k}`).join(', ')}` : '';
  const keyJson = keys.length > 0
    ? `jsonb_build_object(${(check.key ?? []).map((k, i) => `${params.add(k)}::text, __s.${keys[i]}`).join(', ')})`
    : 'to_jsonb(__s)';
  const query = params.sql(check.query, scope.user);
  const A = scope.alias;
  const marked = markAs === undefined
    ? ''
    : `,
__marked AS (INSERT INTO ${FAILING_ROWS_TABLE} (table_name, rel, tid)
  SELECT ${params.add(markAs)}, ${A}.tableoid, ${A}.ctid FROM ${scope.table.sql} AS ${A}
  WHERE (${keys.map((k) => `${A}.${k}`).join(', ')}) IN (SELECT ${keys.map((k) => `__f.${k}`).join(', ')} FROM __failing AS __f))`;
  return `/* check ${check.name} */
WITH __failing AS MATERIALIZED (${query}
)${marked},
__sample AS (SELECT * FROM __failing AS __f${order} LIMIT ${params.add(sampleLimit)})
SELECT (SELECT count(*) FROM ${scope.table.sql} AS ${A} WHERE ${scope.where}) AS evaluated,
       (SELECT count(*) FROM __failing) AS failing,
       (SELECT coalesce(jsonb_agg(${keyJson}${sOrder}), '[]'::jsonb) FROM __sample AS __s) AS sample_keys,
       (SELECT coalesce(jsonb_agg(to_jsonb(__s)${sOrder}), '[]'::jsonb) FROM __sample AS __s) AS sample_rows`;
}

/** evaluated / failing / samples as the row statements return them. */
export function measureRows(row: Row): Measured {
  return {
    evaluated: num(row.evaluated),
    failing: num(row.failing),
    sampleKeys: (row.sample_keys as Json[] | null) ?? [],
    sampleRows: (row.sample_rows as Json[] | null) ?? [],
  };
}
