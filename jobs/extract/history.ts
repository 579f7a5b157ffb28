/**
 * A job's change history table (`audit.<target>_history` by default, from `historyTable()` in
 * db/schema/extract.ts) and the SQL that fills it from the staging table before the upsert:
 * one `update` row per staged record whose stored row differs (before, after, changed columns),
 * one `reversal` row per new entry that reverses another record. Unchanged records write nothing.
 */
import type pg from 'pg';
import { quoteIdent } from '../../db/identifiers.ts';
import { historyTable } from '../../db/schema/extract.ts';
import { auditTarget, ensureJobTable, type AuditTarget } from '../load/audit.ts';
import { LINE_COLUMN, STAGING_TABLE, type LoadPlan } from '../load/plan.ts';

export type HistoryTarget = AuditTarget;

/** `audit.<table>_history` by default (`<schema>_<table>_history` for a non-public target schema). */
export function historyTarget(target: string, explicit?: string): HistoryTarget {
  return auditTarget(target, explicit, '_history');
}

export async function ensureHistoryTable(client: pg.PoolClient, history: HistoryTarget): Promise<void> {
  await ensureJobTable(client, history, historyTable(history.schema, history.table));
}

const q = (name: string) => quoteIdent(name, 'column');
const STAGE = `pg_temp.${q(STAGING_TABLE)}`;

/** The declared columns of a row as a JSON object ($3 = the column names). */
const pick = (row: string, names = '$3') =>
  `(SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(to_jsonb(${row})) e WHERE e.key = ANY(${names}::text[]))`;

/** The last staged copy of each key (a later page wins, as in the load job's upsert). */
function latestStaged(plan: LoadPlan): string {
  const key = plan.options.key.map(q).join(', ');
  return `SELECT DISTINCT ON (${key}) * FROM ${STAGE} ORDER BY ${key}, ${q(LINE_COLUMN)} DESC`;
}

const sameKey = (plan: LoadPlan, a: string, b: string) => plan.options.key.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(' AND ');

export interface HistoryScope {
  runId: string;
  taskId: string;
}

/** Writes an `update` row for each staged key whose stored row differs; returns how many. */
export async function recordUpdates(client: pg.PoolClient, plan: LoadPlan, history: HistoryTarget, scope: HistoryScope): Promise<number> {
  const res = await client.query(
    `WITH s AS (${latestStaged(plan)}),
     d AS (SELECT ${pick('s', '$4')} AS key, ${pick('t')} AS before, ${pick('s')} AS after
           FROM s JOIN ${plan.targetSql} t ON ${sameKey(plan, 't', 's')})
     INSERT INTO ${history.sql} (run_id, task_id, key, change, before, after, changed_columns)
     SELECT $1, $2, d.key, 'update', d.before, d.after,
            ARRAY(SELECT e.key FROM jsonb_each(d.after) e WHERE d.before -> e.key IS DISTINCT FROM e.value
                  ORDER BY array_position($3::text[], e.key))
     FROM d WHERE d.before IS DISTINCT FROM d.after`,
    [scope.runId, scope.taskId, plan.specs.map((c) => c.name), plan.options.key],
  );
  return res.rowCount ?? 0;
}

/**
 * Writes a `reversal` row, keyed by the reversed record, for each new staged entry whose
 * `column` names another record; `before` is that record as stored (or staged). Returns how many.
 */
export async function recordReversals(
  client: pg.PoolClient, plan: LoadPlan, history: HistoryTarget, column: string, scope: HistoryScope,
): Promise<number> {
  const key = q(plan.options.key[0]);
  const rev = q(column);
  const res = await client.query(
    `WITH s AS (${latestStaged(plan)})
     INSERT INTO ${history.sql} (run_id, task_id, key, change, before, after)
     SELECT $1, $2, jsonb_build_object($4::text, s.${rev}), 'reversal',
            COALESCE((SELECT ${pick('o')} FROM ${plan.targetSql} o WHERE o.${key} = s.${rev}),
                     (SELECT ${pick('o')} FROM s o WHERE o.${key} = s.${rev})),
            ${pick('s')}
     FROM s
     WHERE s.${rev} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${plan.targetSql} t WHERE ${sameKey(plan, 't', 's')})`,
    [scope.runId, scope.taskId, plan.specs.map((c) => c.name), plan.options.key[0]],
  );
  return res.rowCount ?? 0;
}

/** Staged keys the target does not hold yet. */
export async function countNew(client: pg.PoolClient, plan: LoadPlan): Promise<number> {
  const key = plan.options.key.map(q).join(', ');
  const res = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT DISTINCT ${key} FROM ${STAGE}) s
     WHERE NOT EXISTS (SELECT 1 FROM ${plan.targetSql} t WHERE ${sameKey(plan, 't', 's')})`,
  );
  return res.rows[0].n;
}
