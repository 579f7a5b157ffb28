/**
 * Read model of the DAG list: per DAG the strip of its most recently created
 * runs (the last run is the newest created, whatever its logical date: a backfilled or re-triggered
 * old date shows), running/queued/failed counts, and of the last run its rows loaded/refused and
 * its failed checks by severity (`fail` at error, `warn` at warn). Bounded: the strip reads the
 * DAG's runs through dag_runs (dag_id, logical_date) and keeps STRIP_RUNS; counts use the state index.
 */
import type pg from 'pg';

export interface StripRun { id: number; state: string; logicalDate: Date; createdAt: Date }

export interface DagActivity {
  /** Most recently created first, at most STRIP_RUNS: strip[0] is the last run. */
  strip: StripRun[];
  running: number;
  queued: number;
  failed24h: number;
  /** Of the last run: rows its loads loaded and refused, checks of its current tries failing at error and at warn. */
  lastRowsLoaded: number;
  lastRowsRefused: number;
  lastChecksError: number;
  lastChecksWarn: number;
}

export const STRIP_RUNS = 14;

/** $1 dag ids, $2 strip length → the most recently created runs of each DAG (ids follow creation; index dag_runs_dag_id). */
const STRIP_SQL = `
SELECT d.dag_id AS "dagId", r.id, r.state, r.logical_date AS "logicalDate", r.created_at AS "createdAt"
FROM unnest($1::text[]) AS d(dag_id)
CROSS JOIN LATERAL (SELECT id, state, logical_date, created_at FROM dag_runs WHERE dag_id = d.dag_id
                    ORDER BY id DESC LIMIT $2) AS r
ORDER BY d.dag_id, r.id DESC`;

/** $1 dag ids → running/queued runs, and runs that failed in the last 24 h, per DAG (state index). */
const COUNTS_SQL = `
SELECT dag_id AS "dagId",
  count(*) FILTER (WHERE state = 'running')::int AS running,
  count(*) FILTER (WHERE state = 'queued')::int AS queued,
  count(*) FILTER (WHERE state = 'failed' AND ended_at > now() - interval '24 hours')::int AS "failed24h"
FROM dag_runs WHERE dag_id = ANY($1::text[]) AND state IN ('running', 'queued', 'failed')
  AND (state <> 'failed' OR ended_at > now() - interval '24 hours')
GROUP BY dag_id`;

/** $1 run ids → per run: rows loaded/refused by its load tasks, checks of its current tries failing at error / at warn. */
const LAST_RUN_SQL = `
SELECT r.id AS "runId",
  coalesce((SELECT sum((ti.result ->> 'rows_loaded')::bigint) FROM task_instances ti
            WHERE ti.run_id = r.id AND ti.queue = 'load' AND jsonb_typeof(ti.result -> 'rows_loaded') = 'number'), 0)::bigint AS loaded,
  coalesce((SELECT sum((ti.result ->> 'rows_rejected')::bigint) FROM task_instances ti
            WHERE ti.run_id = r.id AND ti.queue = 'load' AND jsonb_typeof(ti.result -> 'rows_rejected') = 'number'), 0)::bigint AS refused,
  c.error AS "checksError", c.warn AS "checksWarn"
FROM unnest($1::bigint[]) AS r(id)
CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE c.outcome = 'fail')::int AS error, count(*) FILTER (WHERE c.outcome = 'warn')::int AS warn
  FROM check_results c JOIN task_instances ti
    ON ti.run_id = c.run_id AND ti.task_id = c.task_id AND ti.map_index = -1 AND ti.try_number = c.try_number
  WHERE c.run_id = r.id) AS c`;

export async function dagActivity(pool: pg.Pool, dagIds: string[]): Promise<Map<string, DagActivity>> {
  const [strips, counts] = await Promise.all([
    pool.query<StripRun & { dagId: string }>(STRIP_SQL, [dagIds, STRIP_RUNS]),
    pool.query<{ dagId: string; running: number; queued: number; failed24h: number }>(COUNTS_SQL, [dagIds]),
  ]);
  const out = new Map<string, DagActivity>(dagIds.map((id) => [id, {
    strip: [], running: 0, queued: 0, failed24h: 0, lastRowsLoaded: 0, lastRowsRefused: 0, lastChecksError: 0, lastChecksWarn: 0,
  }]));
  for (const r of strips.rows) out.get(r.dagId)?.strip.push({ id: Number(r.id), state: r.state, logicalDate: r.logicalDate, createdAt: r.createdAt });
  for (const c of counts.rows) Object.assign(out.get(c.dagId) ?? {}, { running: c.running, queued: c.queued, failed24h: c.failed24h });
  const last = [...out.values()].flatMap((a) => (a.strip[0] ? [a.strip[0].id] : []));
  const rows = await pool.query<{ runId: string; loaded: string; refused: string; checksError: number; checksWarn: number }>(LAST_RUN_SQL, [last]);
  const byRun = new Map(rows.rows.map((r) => [Number(r.runId), r]));
  for (const a of out.values()) {
    const r = a.strip[0] ? byRun.get(a.strip[0].id) : undefined;
    if (r) Object.assign(a, { lastRowsLoaded: Number(r.loaded), lastRowsRefused: Number(r.refused), lastChecksError: r.checksError, lastChecksWarn: r.checksWarn });
  }
  return out;
}
