/**
 * Versioned DAGs across workers (issue 21 item 3): a run keeps the DAG version it was created
 * with; a worker whose copy of the DAG is another version (a rolling upgrade) runs the try with
 * its own copy and puts that on the record — the attempt's dag_version, a warning line in the
 * task's log, the run page's attempts table; a worker with the run's version records nothing extra.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileDag } from '../../../engine/dag.ts';
import { Engine } from '../../../engine/engine.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const spec = (label: string): DagSpec => ({
  id: 'versioned', tasks: { a: { kind: 'noop', options: { result: label } }, b: { kind: 'noop', upstream: ['a'] } },
});

let t: TestEngine;
let upgraded: Engine;
let dashboard: Dashboard;
const TOKEN = 'dag-version-token-0123456789';

beforeAll(async () => {
  // The scheduler's side: DAG version 1 registered, no workers of its own.
  t = await startTestEngine({ backend: 'redis', dags: [spec('v1')], workers: false });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await upgraded?.close();
  await t?.close();
});

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await t.database.pool.query<R>(text, values)).rows;

describe('DAG versions across workers', () => {
  it('a worker with another version runs the try with its copy and records the version it ran', async () => {
    const v1 = t.dags.get('versioned')!.version;
    const v2Dag = compileDag(spec('v2'), 'test/versioned.ts', t.kinds);
    expect(v2Dag.version).not.toBe(v1);
    const run = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('versioned')!, { date: '2025-05-13' });
    expect((await sql<{ v: string }>('SELECT dag_version AS v FROM dag_runs WHERE id = $1', [run.runId]))[0].v).toBe(v1);
    expect((await sql<{ v: string }>(`SELECT version AS v FROM dags WHERE dag_id = 'versioned'`))[0].v).toBe(v1);

    // The upgraded worker: same database and queues, DAG version 2.
    upgraded = new Engine({ ...t.engine.options, dags: new Map([['versioned', v2Dag]]), log: pino({ level: 'silent' }) });
    upgraded.startWorkers({ concurrency: () => 2, lockDurationMs: 5_000 });
    expect(await t.waitForRun(run.runId)).toBe('success');

    const attempts = await sql<{ task_id: string; dag_version: string | null }>(
      `SELECT ti.task_id, a.dag_version FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 ORDER BY ti.task_id`, [run.runId]);
    expect(attempts).toEqual([{ task_id: 'a', dag_version: v2Dag.version }, { task_id: 'b', dag_version: v2Dag.version }]);
    // What ran was the worker's copy: its result says so, and the record shows it was not the run's version.
    expect((await sql<{ result: unknown }>(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'a'`, [run.runId]))[0].result).toBe('v2');
    const warned = await sql<{ message: string }>(
      `SELECT l.message FROM task_logs l JOIN task_instances ti ON ti.id = l.task_instance_id WHERE ti.run_id = $1 AND l.level = 'warn'`, [run.runId]);
    expect(warned.map((l) => l.message)).toEqual(Array(2).fill(
      `this worker runs version ${v2Dag.version} of dag versioned; run ${run.runId} was created with version ${v1} (a rolling upgrade?): the try runs with this worker's copy of the task`,
    ));
    const page = await (await fetch(`${dashboard.url}/runs/${run.runId}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(page).toContain(`<code id="dag-version">${v1}</code>`);
    expect(page.match(new RegExp(`\\(ran DAG version ${v2Dag.version}\\)`, 'g'))).toHaveLength(2);
  });

  it('a worker with the run\'s own version records nothing extra', async () => {
    const same = compileDag(spec('v1'), 'test/versioned.ts', t.kinds);
    expect(same.version).toBe(t.dags.get('versioned')!.version);
    await upgraded.close();
    upgraded = new Engine({ ...t.engine.options, dags: new Map([['versioned', same]]), log: pino({ level: 'silent' }) });
    upgraded.startWorkers({ concurrency: () => 2, lockDurationMs: 5_000 });
    const run = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('versioned')!, { date: '2025-05-14' });
    expect(await t.waitForRun(run.runId)).toBe('success');
    const versions = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 AND a.dag_version IS NOT NULL`, [run.runId]);
    expect(versions[0].n).toBe(0);
  });
});
