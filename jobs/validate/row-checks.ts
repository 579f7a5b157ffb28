/**
 * Row checks (not_null, unique, relationship, accepted_values, range, expression, outlier): each
 * is a predicate over one row of the checked table, run as ONE statement that counts the rows
 * evaluated and failing, samples the failing keys and rows, and (for the scorecard) marks them.
 */
import type { Check } from './options.ts';
import type { TableInfo } from '../sql/catalog.ts';
import { column as qi, table as qt } from '../sql/identifiers.ts';
import type { SqlParams } from '../sql/named-params.ts';

export type RowCheck = Extract<Check, { kind: 'not_null' | 'unique' | 'relationship' | 'accepted_values' | 'range' | 'expression' | 'outlier' }>;

/** Temp table (per transaction) of failing row ids, read by the scorecard. */
export const FAILING_ROWS_TABLE = 'pg_temp.trib_failing_rows';
export const CREATE_FAILING_ROWS = `CREATE TEMP TABLE IF NOT EXISTS trib_failing_rows (table_name text NOT NULL, rel oid NOT NULL, tid tid NOT NULL) ON COMMIT DROP`;

/** Where the predicate is evaluated: `FROM <table> AS <alias> WHERE <where>`. */
export interface RowScope {
  table: TableInfo;
  /** Quoted alias of the checked table. */
  alias: string;
  /** The compiled `where` (or `true`). */
  where: string;
  user: string;
}

/** A table whose rows have a `ctid` (not a view): needed for marking and for the ctid key. */
export function hasRowIds(info: TableInfo): boolean {
  return info.kind === 'r' || info.kind === 'p' || info.kind === 'm';
}

/** The failing-row predicate of a row check; `parent` is the referenced table of a relationship. */
export function predicate(check: RowCheck, scope: RowScope, params: SqlParams, parent?: TableInfo): string {
  const A = scope.alias;
  const T = scope.table.sql;
  const col = (name: string) => `${A}.${qi(name, scope.user)}`;
  switch (check.kind) {
    case 'not_null':
      return check.columns.map((c) => `${col(c)} IS NULL`).join(' OR ');
    case 'unique': {
      const cols = check.columns.map(col).join(', ');
      return `(${cols}) IN (SELECT ${cols} FROM ${T} AS ${A} WHERE ${scope.where} GROUP BY ${cols} HAVING count(*) > 1)`;
    }
    case 'relationship': {
      const P = parent ? parent.sql : qt(check.to.table, scope.user);
      const notNull = check.columns.map((c) => `${col(c)} IS NOT NULL`).join(' AND ');
      const on = check.columns
        .map((c, i) => `__parent.${qi(check.to.columns[i], scope.user)} = ${col(c)}`)
        .join(' AND ');
      return `${notNull} AND NOT EXISTS (SELECT 1 FROM ${P} AS __parent WHERE ${on})`;
    }
    case 'accepted_values': {
      const values = params.add(check.values.map((v) => String(v)));
      return `${col(check.column)} IS NOT NULL AND NOT (${col(check.column)}::text = ANY(${values}::text[]))`;
    }
    case 'range': {
      const c = col(check.column);
      const out: string[] = [];
      if (check.min !== undefined) out.push(`${c} ${check.inclusive ? '<' : '<='} ${params.add(check.min)}`);
      if (check.max !== undefined) out.push(`${c} ${check.inclusive ? '>' : '>='} ${params.add(check.max)}`);
      return `${c} IS NOT NULL AND (${out.join(' OR ')})`;
    }
    case 'expression': {
      const expr = params.sql(check.expression, scope.user);
      if (check.joins.length === 0) return `NOT (${expr})`;
      const from = check.joins
        .map((j) => `${j.table ? qt(j.table, scope.user) : `(${params.sql(j.query ?? '', scope.user)})`} AS ${qi(j.alias, scope.user, 'alias')}`)
        .join(' CROSS JOIN ');
      const on = check.joins.map((j) => `(${params.sql(j.on, scope.user)})`).join(' AND ');
      return `EXISTS (SELECT 1 FROM ${from} WHERE ${on} AND NOT (${expr}))`;
    }
    case 'outlier': {
      const c = col(check.column);
      const p = params.add(check.percentile);
      return `${c} > (SELECT percentile_cont(${p}::float8) WITHIN GROUP (ORDER BY ${c}) FROM ${T} AS ${A} WHERE ${scope.where})`;
    }
  }
}

/**
 * The statement of a row check. Returns one row: evaluated, failing, sample_keys, sample_rows.
 * `keys` are expressions over the alias (quoted columns or ctid) with their JSON names.
 */
export function rowCheckStatement(input: {
  name: string;
  scope: RowScope;
  predicate: string;
  keys: ReadonlyArray<{ expr: string; name: string }>;
  params: SqlParams;
  sampleLimit: number;
  /** Record failing row ids under this scorecard table name. */
  markAs?: string;
}): string {
  const { scope, params, keys } = input;
  const A = scope.alias;
  const T = scope.table.sql;
  const ids = hasRowIds(scope.table) ? `${A}.tableoid AS __rel, ${A}.ctid AS __tid, ` : '';
  const keyCols = keys.map((k, i) => `${k.expr} AS __k${i}`).join(', ');
  const order = keys.map((_, i) => `__k${i}`).join(', ');
  const keyJson = keys.map((k, i) => `${params.add(k.name)}::text, __k${i}`).join(', ');
  const helpers = params.add([...(ids ? ['__rel', '__tid'] : []), ...keys.map((_, i) => `__k${i}`)]);
  const marked = input.markAs === undefined
    ? ''
    : `,
__marked AS (INSERT INTO ${FAILING_ROWS_TABLE} (table_name, rel, tid) SELECT ${params.add(input.markAs)}, __rel, __tid FROM __failing)`;
  return `/* check ${input.name} */
WITH __failing AS MATERIALIZED (
  SELECT ${ids}${keyCols}, ${A}.*
  FROM ${T} AS ${A}
  WHERE (${scope.where}) AND (${input.predicate})
)${marked},
__sample AS (SELECT * FROM __failing ORDER BY ${order} LIMIT ${params.add(input.sampleLimit)})
SELECT (SELECT count(*) FROM ${T} AS ${A} WHERE ${scope.where}) AS evaluated,
       (SELECT count(*) FROM __failing) AS failing,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(${keyJson}) ORDER BY ${order}), '[]'::jsonb) FROM __sample) AS sample_keys,
       (SELECT coalesce(jsonb_agg(to_jsonb(__s) - ${helpers}::text[] ORDER BY ${order}), '[]'::jsonb) FROM __sample AS __s) AS sample_rows`;
}
