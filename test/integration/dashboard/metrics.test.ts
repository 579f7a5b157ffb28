/**
 * /metrics gauges on real rows and bounded plans: counts of non-terminal task instances and runs
 * and each DAG's newest run equal the seed plan's truth, and after ANALYZE on a history of
 * 40,000 terminal task instances no metrics statement (the ended-since-last-scrape ones included)
 * scans task_instances or dag_runs in full. (Counters after a real run: prom-metrics.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVE_RUN_STATES, ACTIVE_TASK_STATES, dashboardMetrics, ENDED_RUNS_SQL, ENDED_TASKS_SQL, LAST_RUN_SQL, RUN_COUNTS_SQL, TASK_COUNTS_SQL,
} from '../../../dashboard/metrics.ts';
import { TASK_STATES, TERMINAL_TASK_STATES } from '../../../engine/types.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

const DAGS = ['m_a', 'm_b', 'm_idle'];
const RUN_STATES = ['success', 'failed', 'running', 'queued'] as const;
const GAUGES = ['tributary_task_instances', 'tributary_dag_runs', 'tributary_dag_last_run'];

/** The samples of the three state gauges in the exposition text, name{labels} → value. */
function gaugeSamples(text: string): Map<string, number> {
  return new Map(text.split('\n').filter((l) => l && !l.startsWith('#') && GAUGES.includes(l.slice(0, l.indexOf('{')))).map((l) => {
    const at = l.lastIndexOf(' ');
    return [l.slice(0, at), Number(l.slice(at + 1))] as const;
  }));
}

/** Deterministic plan: run i of DAG d has state RUN_STATES[(i * 7 + d) % 4]; task j of it TASK_STATES[(i + j) % 9]. */
function seedPlan() {
  const runs: { dag: string; day: number; state: string; tasks: string[] }[] = [];
  for (const [d, dag] of DAGS.slice(0, 2).entries()) {
    for (let i = 0; i < 40 + d * 13; i++) {
      const tasks = Array.from({ length: 1 + ((i + d) % 5) }, (_, j) => TASK_STATES[(i + j) % TASK_STATES.length]);
      runs.push({ dag, day: i, state: RUN_STATES[(i * 7 + d) % 4], tasks });
    }
  }
  return runs;
}

describe('metrics', () => {
  let database: TestDatabase;
  const plan = seedPlan();

  beforeAll(async () => {
    database = await createTestDatabase();
    const pool = database.pool;
    for (const dag of DAGS) await pool.query(`INSERT INTO dags (dag_id, file) VALUES ($1, 'x.ts')`, [dag]);
    for (const r of plan) {
      const { rows } = await pool.query<{ id: number }>(
        `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type)
         VALUES ($1, timestamptz '2025-01-01' + make_interval(days => $2), timestamptz '2025-01-02' + make_interval(days => $2), $3, 'scheduled') RETURNING id`,
        [r.dag, r.day, r.state],
      );
      await pool.query(
        `INSERT INTO task_instances (run_id, task_id, state, queue) SELECT $1, 't' || ord, s, 'noop' FROM unnest($2::text[]) WITH ORDINALITY AS u(s, ord)`,
        [rows[0].id, r.tasks],
      );
    }
  });
  afterAll(async () => database?.drop());

  it('reports the seeded non-terminal counts and each DAG\'s newest run', async () => {
    const samples = gaugeSamples(await dashboardMetrics(database.pool, new Map()).scrape());
    const expected = new Map<string, number>();
    for (const s of ACTIVE_TASK_STATES) expected.set(`tributary_task_instances{state="${s}"}`, 0);
    for (const r of plan) {
      for (const s of r.tasks) {
        const key = `tributary_task_instances{state="${s}"}`;
        if (expected.has(key)) expected.set(key, expected.get(key)! + 1);
      }
      if ((ACTIVE_RUN_STATES as readonly string[]).includes(r.state)) {
        const key = `tributary_dag_runs{dag_id="${r.dag}",state="${r.state}"}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }
    for (const dag of DAGS) {
      const newest = plan.filter((r) => r.dag === dag).sort((a, b) => b.day - a.day)[0];
      if (newest) expected.set(`tributary_dag_last_run{dag_id="${dag}",state="${newest.state}"}`, 1);
    }
    expect(Object.fromEntries(samples)).toEqual(Object.fromEntries(expected));
    expect([...samples.values()].some((n) => n > 1)).toBe(true); // the plan is not all zeros and ones
  });

  it('after a large terminal history, no metrics statement scans task_instances or dag_runs in full', async () => {
    await database.pool.query(
      `WITH r AS (
         INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type, ended_at)
         SELECT 'm_a', timestamptz '2010-01-01' + make_interval(hours => g), timestamptz '2010-01-01' + make_interval(hours => g + 1), 'success', 'scheduled', now()
         FROM generate_series(1, 8000) g RETURNING id)
       INSERT INTO task_instances (run_id, task_id, state, queue) SELECT r.id, 't' || k, 'success', 'noop' FROM r, generate_series(1, 5) k`,
    );
    await database.pool.query('ANALYZE dag_runs; ANALYZE task_instances; ANALYZE dags');
    /** The relations a statement's plan reads in full, and the indexes it reads. */
    const planOf = async (sql: string, params: unknown[]) => {
      const { rows } = await database.pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      const seqScans: string[] = [];
      const indexes: string[] = [];
      const walk = (node: Record<string, unknown>) => {
        if (node['Node Type'] === 'Seq Scan') seqScans.push(String(node['Relation Name']));
        if (node['Index Name']) indexes.push(String(node['Index Name']));
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk((rows[0]['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0].Plan);
      return { seqScans, indexes };
    };
    const scans = async (sql: string, params: unknown[]) => (await planOf(sql, params)).seqScans;
    expect(await scans(TASK_COUNTS_SQL, [ACTIVE_TASK_STATES])).not.toContain('task_instances');
    // Active tasks are counted through the partial index of exactly those states (there is no index on state alone).
    expect((await planOf(TASK_COUNTS_SQL, [ACTIVE_TASK_STATES])).indexes).toEqual(['task_instances_unfinished']);
    expect(await scans(RUN_COUNTS_SQL, [ACTIVE_RUN_STATES])).not.toContain('dag_runs');
    expect(await scans(LAST_RUN_SQL, [])).not.toContain('dag_runs');
    const { rows: [ids] } = await database.pool.query<{ tasks: number[]; runs: number[]; maxTask: number; maxRun: number }>(
      `SELECT (SELECT array_agg(id) FROM task_instances WHERE state <> ALL($1)) AS tasks, (SELECT array_agg(id) FROM dag_runs WHERE state IN ('queued', 'running')) AS runs,
         (SELECT max(id) FROM task_instances)::float8 AS "maxTask", (SELECT max(id) FROM dag_runs)::float8 AS "maxRun"`,
      [TERMINAL_TASK_STATES]);
    expect(await scans(ENDED_TASKS_SQL, [ids.tasks, ids.maxTask, TERMINAL_TASK_STATES, ACTIVE_TASK_STATES])).toEqual([]);
    expect(await scans(ENDED_RUNS_SQL, [ids.runs, ids.maxRun, ['success', 'failed'], ACTIVE_RUN_STATES])).toEqual([]);
    // The numbers did not move: the history is terminal.
    const samples = gaugeSamples(await dashboardMetrics(database.pool, new Map()).scrape());
    const taskTotal = [...samples].filter(([k]) => k.startsWith('tributary_task_instances{')).reduce((a, [, n]) => a + n, 0);
    expect(taskTotal).toBe(plan.flatMap((r) => r.tasks).filter((s) => (ACTIVE_TASK_STATES as string[]).includes(s)).length);
    const newestA = plan.filter((r) => r.dag === 'm_a').sort((a, b) => b.day - a.day)[0].state;
    expect(samples.get(`tributary_dag_last_run{dag_id="m_a",state="${newestA}"}`)).toBe(1);
  });
});
