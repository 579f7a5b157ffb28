/**
 * /metrics (prom-client) after a known run, scraped through the real server: the dashboard scrapes
 * once, then a W1 run (fixture samples/fixtures/w1, plus a validate task) runs to its end. Rows
 * loaded/refused equal the fixture's truth.json, check outcomes our own SQL on the loaded table,
 * task durations and scheduler lag our own SQL on task_instances; queue depth is BullMQ's count.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import customerRatings from '../../../schedules/customer_ratings.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { W1_FIXTURES, type W1Truth } from './w1-run.ts';

const TOKEN = 'prom-metrics-token-0123456789';
const KNOWN = ['active', 'high-value'];

/** customer_ratings with its sensor waiting briefly for the fixture's two agencies, and a quality task after the load. */
function w1WithChecks(): DagSpec {
  const files = customerRatings.tasks.files;
  return {
    ...customerRatings,
    tasks: {
      ...customerRatings.tasks,
      files: { ...files, options: { ...(files.options as object), minFiles: 2, stableForMs: 50, pokeIntervalMs: 50 } },
      quality: {
        kind: 'validate',
        upstream: ['load'],
        options: {
          checks: [
            { name: 'status_known', kind: 'accepted_values', table: 'customer_ratings', column: 'customer_status', values: KNOWN, severity: 'warn' },
            { name: 'rating_present', kind: 'not_null', table: 'customer_ratings', columns: ['customer_rating'], severity: 'warn' },
          ],
        },
      },
    },
  };
}

let t: TestEngine;
let dashboard: Dashboard;
let root: string;
let truth: W1Truth;
let runId: number;
let before: Map<string, number>;
let after: Map<string, number>;

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await t.database.pool.query<R>(text, values)).rows;

/** name{labels} → value of every sample in the exposition text. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${dashboard.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Map((await res.text()).split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const at = l.lastIndexOf(' ');
    return [l.slice(0, at), Number(l.slice(at + 1))] as const;
  }));
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-prom-'));
  const params = { dataDir: path.join(root, 'data'), reportDir: path.join(root, 'reports') };
  await fs.mkdir(params.dataDir);
  truth = JSON.parse(await fs.readFile(path.join(W1_FIXTURES, 'truth.json'), 'utf8')) as W1Truth;
  for (const f of truth.files) await fs.copyFile(path.join(W1_FIXTURES, f.file), path.join(params.dataDir, f.file));
  t = await startTestEngine({ backend: 'redis', dags: [w1WithChecks()] });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
  before = await scrape();
  ({ runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('customer_ratings')!, { date: '2025-05-13', params }));
  const state = await t.waitForRun(runId);
  if (state !== 'success') throw new Error(`run ${runId} ended ${state}: ${JSON.stringify(await t.taskStates(runId))}`);
  // The run ends in Postgres before the last worker acknowledges its job to BullMQ: let it.
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const active = await Promise.all([...t.kinds.keys()].map(async (q) => (await t.engine.backend.queue(q).getJobCounts('active')).active));
    if (active.every((n) => n === 0)) break;
  }
  after = await scrape();
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await t?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const D = 'dag_id="customer_ratings"';

describe('metrics after a known run', () => {
  it('counted nothing before the run', () => {
    expect([...before.keys()].filter((k) => /_total\{|_count\{/.test(k))).toEqual([]);
  });

  it('counts rows loaded and refused per DAG and task as the fixture\'s truth', () => {
    expect(after.get(`tributary_rows_loaded_total{${D},task_id="load"}`)).toBe(truth.files.reduce((n, f) => n + f.valid, 0));
    expect(after.get(`tributary_rows_refused_total{${D},task_id="load"}`)).toBe(truth.files.reduce((n, f) => n + f.rejected, 0));
  });

  it('counts check outcomes as our own SQL on the loaded table says', async () => {
    const [{ unknown, nulls }] = await sql<{ unknown: number; nulls: number }>(
      `SELECT count(*) FILTER (WHERE customer_status IS NOT NULL AND customer_status <> ALL($1))::int AS unknown,
         count(*) FILTER (WHERE customer_rating IS NULL)::int AS nulls FROM customer_ratings`, [KNOWN]);
    expect(unknown).toBeGreaterThan(0); // the fixture has new/inactive/dormant customers
    expect(after.get(`tributary_check_outcomes_total{${D},check="status_known",outcome="${unknown > 0 ? 'warn' : 'pass'}"}`)).toBe(1);
    expect(after.get(`tributary_check_outcomes_total{${D},check="rating_present",outcome="${nulls > 0 ? 'warn' : 'pass'}"}`)).toBe(1);
  });

  it('observes every task instance\'s duration once, and the run ended once', async () => {
    const rows = await sql<{ taskId: string; n: number; seconds: number }>(
      `SELECT task_id AS "taskId", count(*)::int AS n, sum(extract(epoch FROM ended_at - started_at))::float8 AS seconds
       FROM task_instances WHERE run_id = $1 AND started_at IS NOT NULL AND ended_at IS NOT NULL GROUP BY task_id`, [runId]);
    expect(rows.map((r) => r.taskId).sort()).toEqual(['files', 'load', 'quality', 'report']);
    for (const r of rows) {
      expect(after.get(`tributary_task_duration_seconds_count{${D},task_id="${r.taskId}"}`), r.taskId).toBe(r.n);
      expect(after.get(`tributary_task_duration_seconds_sum{${D},task_id="${r.taskId}"}`)).toBeCloseTo(r.seconds, 3);
    }
    expect(after.get(`tributary_task_duration_seconds_count{${D},task_id="load"}`)).toBe(truth.files.length); // the mapped children (their parent never runs itself)
    expect(after.get(`tributary_dag_runs_ended_total{${D},state="success"}`)).toBe(1);
  });

  it('leaves nothing to count twice on the next scrape', async () => {
    const again = await scrape();
    for (const [k, v] of after) if (/_total\{|_count\{|_sum\{/.test(k)) expect(again.get(k), k).toBe(v);
  });

  it('reports queue depth per queue and state from BullMQ', async () => {
    for (const queue of t.kinds.keys()) {
      const counts = await t.engine.backend.queue(queue).getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) {
        expect(after.get(`tributary_queue_jobs{queue="${queue}",state="${state}"}`), `${queue} ${state}`).toBe(counts[state]);
      }
    }
  });

  it('reports no scheduler lag for a manual run; a scheduled run\'s lag is its first task start − interval end', async () => {
    expect([...after.keys()].filter((k) => k.startsWith('tributary_scheduler_lag_seconds'))).toEqual([]);
    expect(after.get(`tributary_dag_last_run{${D},state="success"}`)).toBe(1);
    const [run] = await sql<{ id: string }>(
      `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type, started_at, ended_at)
       VALUES ('customer_ratings', '2025-06-01', '2025-06-02', 'success', 'scheduled', '2025-06-02 00:00:40+00', '2025-06-02 00:01:00+00') RETURNING id`);
    await sql(`INSERT INTO task_instances (run_id, task_id, state, queue, started_at, ended_at) VALUES
      ($1, 'files', 'success', 'sensor', '2025-06-02 00:00:42.5+00', '2025-06-02 00:00:43+00'),
      ($1, 'report', 'success', 'report', '2025-06-02 00:00:50+00', '2025-06-02 00:00:51+00')`, [run.id]);
    const next = await scrape();
    expect(next.get(`tributary_scheduler_lag_seconds{${D}}`)).toBe(42.5);
    expect(next.get(`tributary_dag_runs_ended_total{${D},state="success"}`)).toBe(2);
    expect(next.get(`tributary_task_duration_seconds_count{${D},task_id="report"}`)).toBe(after.get(`tributary_task_duration_seconds_count{${D},task_id="report"}`)! + 1);
  });
});
