/**
 * Turns validate options into one planned statement per check: looks up every table and column
 * (TABLE_NOT_FOUND / COLUMN_NOT_FOUND), compiles the SQL with bound values, and optionally
 * EXPLAINs it, so a bad definition fails before any check runs.
 */
import type pg from 'pg';
import { TributaryError } from '../../engine/errors.ts';
import type { Check, ValidateOptions } from './options.ts';
import { hasRowIds, predicate, rowCheckStatement, type RowCheck, type RowScope } from './row-checks.ts';
import {
  customSqlStatement, freshnessStatement, measureFreshness, measureRowCount, measureRows, rowCountStatement, type Measured,
} from './table-checks.ts';
import { Catalog, requireColumns, type TableInfo } from '../sql/catalog.ts';
import { column as qi } from '../sql/identifiers.ts';
import { SqlParams, type ParamResolver } from '../sql/named-params.ts';
import { explainStatement } from '../sql/verify.ts';

export interface CheckPlan {
  check: Check;
  /** `check "name"`, for messages. */
  user: string;
  table: TableInfo;
  text: string;
  values: unknown[];
  /** The scorecard (resolved table name) this check's failing rows count against, if any. */
  scorecardTable?: string;
  measure(row: Record<string, unknown>): Measured;
}

const ROW_KINDS = new Set<Check['kind']>(['not_null', 'unique', 'relationship', 'accepted_values', 'range', 'expression', 'outlier']);

export function isRowCheck(check: Check): check is RowCheck {
  return ROW_KINDS.has(check.kind);
}

/** Columns of the checked table a check names (validated against the catalog). */
export function checkColumns(check: Check): string[] {
  switch (check.kind) {
    case 'not_null':
    case 'unique':
    case 'relationship':
      return check.columns;
    case 'accepted_values':
    case 'range':
    case 'outlier':
    case 'freshness':
      return [check.column];
    default:
      return [];
  }
}

function unqualified(table: string): string {
  const parts = table.split('.');
  return parts[parts.length - 1];
}

/** Does this check count in its table's scorecard? Explicit `scorecard: true` must be possible. */
function scorecardFor(check: Check, table: TableInfo, enabled: boolean, user: string): boolean {
  const countable = isRowCheck(check) || (check.kind === 'custom_sql' && check.key !== undefined);
  if (check.scorecard === true && (!countable || !hasRowIds(table))) {
    throw new TributaryError(
      'OPTIONS_INVALID',
      `${user}: scorecard needs a row check (or custom_sql with key) on a table, not ${check.kind} on "${table.name}"`,
    );
  }
  return enabled && countable && hasRowIds(table) && (check.scorecard ?? check.severity !== 'info');
}

export interface PrepareOptions {
  /** Resolves :placeholders (run values, or stand-ins for preflight). */
  resolve: ParamResolver;
  /** EXPLAIN each statement. */
  explain: boolean;
  /** Mark failing rows in the scorecard temp table (the handler creates it first). */
  mark: boolean;
}

export async function prepareChecks(client: pg.PoolClient, options: ValidateOptions, how: PrepareOptions): Promise<CheckPlan[]> {
  const catalog = new Catalog(client);
  const plans: CheckPlan[] = [];
  for (const check of options.checks) {
    const user = `check "${check.name}"`;
    const table = await catalog.columns(check.table, checkColumns(check), user);
    if (check.key && check.kind !== 'custom_sql') requireColumns(table, check.key, user);
    const parent = check.kind === 'relationship'
      ? await catalog.columns(check.to.table, check.to.columns, `${user} (to)`)
      : undefined;
    const counted = scorecardFor(check, table, options.scorecard, user);
    if (counted && check.kind === 'custom_sql') requireColumns(table, check.key ?? [], `${user} (key for the scorecard)`);
    const markAs = how.mark && counted ? table.qualified : undefined;
    const params = new SqlParams(how.resolve);
    const scope: RowScope = {
      table,
      alias: qi(check.alias ?? unqualified(check.table), user, 'alias'),
      where: check.where ? params.sql(check.where, user) : 'true',
      user,
    };
    const sampleLimit = check.sampleLimit ?? options.sampleLimit;
    let text: string;
    let measure: CheckPlan['measure'] = measureRows;
    if (isRowCheck(check)) {
      text = rowCheckStatement({
        name: check.name,
        scope,
        predicate: predicate(check, scope, params, parent),
        keys: rowKeys(check, scope),
        params,
        sampleLimit,
        markAs,
      });
    } else if (check.kind === 'row_count') {
      text = rowCountStatement(check, scope, params);
      measure = (row) => measureRowCount(check, row);
    } else if (check.kind === 'freshness') {
      const reference = how.resolve(check.relativeTo) as Date;
      text = freshnessStatement(check, scope, params, reference);
      measure = (row) => measureFreshness(check, row);
    } else {
      text = customSqlStatement(check, scope, params, sampleLimit, markAs);
    }
    if (how.explain) await explainStatement(client, text, params.values, user);
    plans.push({ check, user, table, text, values: params.values, scorecardTable: counted ? table.qualified : undefined, measure });
  }
  return plans;
}

/** Sample key of a row check: `key`, else the primary key, else the check's columns, else ctid. */
function rowKeys(check: RowCheck, scope: RowScope): Array<{ expr: string; name: string }> {
  const names = check.key ?? (scope.table.primaryKey.length > 0 ? scope.table.primaryKey : checkColumns(check));
  if (names.length > 0) return names.map((name) => ({ expr: `${scope.alias}.${qi(name, scope.user)}`, name }));
  if (!hasRowIds(scope.table)) {
    throw new TributaryError('OPTIONS_INVALID', `${scope.user}: "${scope.table.name}" has no primary key and no ctid; give key`);
  }
  return [{ expr: `${scope.alias}.ctid`, name: 'ctid' }];
}
