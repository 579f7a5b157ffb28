/**
 * ONE statement per reconciliation: both sides aggregated by key, FULL JOINed, every key classed
 * matched | mismatched | left_only | right_only; returns exact counts and up to `sampleLimit`
 * keys per non-matched status with left value, right value and difference (left − right).
 */
import type pg from 'pg';
import type { Reconciliation, Side } from './options.ts';
import { Catalog } from '../sql/catalog.ts';
import { column as qi } from '../sql/identifiers.ts';
import { SqlParams, type ParamResolver } from '../sql/named-params.ts';

export interface ReconcilePlan {
  rec: Reconciliation;
  user: string;
  text: string;
  values: unknown[];
  leftSource: string;
  rightSource: string;
}

function describe(side: Side): string {
  const what = side.table ?? 'query';
  const value = side.agg ? `${side.agg}(${side.value ?? side.expression ?? '*'})` : side.value ?? side.expression ?? '';
  return `${what}: ${value} by ${side.key.join(', ')}`;
}

/** `SELECT key AS __k0…, value AS __v, true AS __p FROM source AS src [WHERE] [GROUP BY keys]`. */
function sideSql(side: Side, params: SqlParams, user: string, sourceSql: string): string {
  const keys = side.key.map((k, i) => `src.${qi(k, user)} AS __k${i}`).join(', ');
  const v = side.value !== undefined ? `src.${qi(side.value, user)}` : side.expression !== undefined ? params.sql(side.expression, user) : '*';
  let value: string;
  switch (side.agg) {
    case undefined: value = v; break;
    case 'last': value = `(array_agg(${v} ORDER BY src.${qi(side.orderBy ?? '', user)} DESC NULLS LAST))[1]`; break;
    default: value = `${side.agg}(${v})`;
  }
  const where = side.where ? ` WHERE ${params.sql(side.where, user)}` : '';
  const group = side.agg ? ` GROUP BY ${side.key.map((_, i) => i + 1).join(', ')}` : '';
  return `SELECT ${keys}, ${value} AS __v, true AS __p FROM ${sourceSql} AS src${where}${group}`;
}

/** Do the (filled) values `__lv` and `__rv` match? */
function matchSql(rec: Reconciliation, params: SqlParams): string {
  if (rec.compare === 'exact') return '__lv IS NOT DISTINCT FROM __rv';
  const diff = 'abs(__lv::numeric - __rv::numeric)';
  const parts = ['(__lv IS NULL AND __rv IS NULL)'];
  const { absolute, relative } = rec.tolerance;
  if (absolute !== undefined || relative === undefined) parts.push(`${diff} <= ${params.add(String(absolute ?? 0))}::numeric`);
  if (relative !== undefined) {
    parts.push(`${diff} <= ${params.add(String(relative))}::numeric * greatest(abs(__lv::numeric), abs(__rv::numeric))`);
  }
  return parts.join(' OR ');
}

/** A side's value; where that side lacks the key, its `absentAs` fill (or NULL). */
function filled(side: '__l' | '__r', fill: number | undefined, params: SqlParams): string {
  return fill === undefined ? `${side}.__v` : `CASE WHEN ${side}.__p THEN ${side}.__v ELSE ${params.add(String(fill))}::numeric END`;
}

/** Builds the statement after checking the sides' tables and columns exist. */
export async function planReconciliation(
  catalog: Catalog,
  rec: Reconciliation,
  resolve: ParamResolver,
  sampleLimit: number,
): Promise<ReconcilePlan> {
  const user = `reconciliation "${rec.name}"`;
  const params = new SqlParams(resolve);
  const sources: string[] = [];
  for (const [label, side] of [['left', rec.left], ['right', rec.right]] as const) {
    const sideUser = `${user} (${label})`;
    if (side.table !== undefined) {
      const named = [...side.key, ...(side.value ? [side.value] : []), ...(side.orderBy ? [side.orderBy] : [])];
      sources.push((await catalog.columns(side.table, named, sideUser)).sql);
    } else {
      sources.push(`(${params.sql(side.query ?? '', sideUser)})`);
    }
  }
  const left = sideSql(rec.left, params, `${user} (left)`, sources[0]);
  const right = sideSql(rec.right, params, `${user} (right)`, sources[1]);
  const n = rec.left.key.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  const keySel = idx.map((i) => `CASE WHEN __l.__p THEN __l.__k${i} ELSE __r.__k${i} END AS __k${i}`).join(', ');
  const on = idx.map((i) => `__l.__k${i} = __r.__k${i}`).join(' AND ');
  const order = idx.map((i) => `__k${i}`).join(', ');
  const keyJson = idx.map((i) => `${params.add(rec.left.key[i])}::text, __k${i}`).join(', ');
  const difference = rec.compare === 'number' ? '(__lv::numeric - __rv::numeric)::text' : 'NULL::text';
  const lv = filled('__l', rec.absentAs.left, params);
  const rv = filled('__r', rec.absentAs.right, params);
  const rightOnly = rec.absentAs.left === undefined ? `WHEN __lp IS NULL THEN 'right_only' ` : '';
  const leftOnly = rec.absentAs.right === undefined ? `WHEN __rp IS NULL THEN 'left_only' ` : '';
  const match = matchSql(rec, params);
  const text = `/* reconcile ${rec.name} */
WITH __l AS (${left}
),
__r AS (${right}
),
__j0 AS (
  SELECT ${keySel}, __l.__p AS __lp, __r.__p AS __rp, ${lv} AS __lv, ${rv} AS __rv
  FROM __l FULL JOIN __r ON ${on}
),
__j AS MATERIALIZED (
  SELECT *, CASE ${rightOnly}${leftOnly}WHEN ${match} THEN 'matched' ELSE 'mismatched' END AS __status FROM __j0
),
__s AS (SELECT *, row_number() OVER (PARTITION BY __status ORDER BY ${order}) AS __rn FROM __j WHERE __status <> 'matched')
SELECT count(*) AS keys_total,
       count(*) FILTER (WHERE __status = 'matched') AS matched,
       count(*) FILTER (WHERE __status = 'mismatched') AS mismatched,
       count(*) FILTER (WHERE __status = 'left_only') AS left_only,
       count(*) FILTER (WHERE __status = 'right_only') AS right_only,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('status', __status, 'key', jsonb_build_object(${keyJson}),
                 'left', __lv::text, 'right', __rv::text, 'difference', ${difference}) ORDER BY __status, ${order}), '[]'::jsonb)
        FROM __s WHERE __rn <= ${params.add(sampleLimit)}) AS sample
FROM __j`;
  return { rec, user, text, values: params.values, leftSource: describe(rec.left), rightSource: describe(rec.right) };
}

/** Plans every reconciliation of a task (catalog lookups shared). */
export async function planReconciliations(
  client: pg.PoolClient,
  recs: readonly Reconciliation[],
  resolve: ParamResolver,
  defaultSampleLimit: number,
): Promise<ReconcilePlan[]> {
  const catalog = new Catalog(client);
  const plans: ReconcilePlan[] = [];
  for (const rec of recs) plans.push(await planReconciliation(catalog, rec, resolve, rec.sampleLimit ?? defaultSampleLimit));
  return plans;
}
