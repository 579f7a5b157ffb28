/**
 * The engine suite, run on both queue backends: ordering, retries, trigger rules, clear, mapped
 * fan-out, duplicate delivery, sweeper repair. Real Postgres, real Redis, real BullMQ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeTry } from '../../../engine/executor.ts';
import { taskLogs } from '../../../dashboard/queries.ts';
import { clearTasks, markTask, triggerRun } from '../../../engine/operations.ts';
import { defineDag } from '../../../engine/dag.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../../support/engine.ts';

const diamond = defineDag({
  id: 'diamond',
  tasks: {
    a: { kind: 'effect', options: { label: 'a' } },
    b: { kind: 'effect', options: { label: 'b' }, upstream: ['a'] },
    c: { kind: 'effect', options: { label: 'c', sleepMs: 30 }, upstream: ['a'] },
    d: { kind: 'effect', options: { label: 'd' }, upstream: ['b', 'c'] },
  },
});

const retrying = defineDag({
  id: 'retrying',
  tasks: { flaky: { kind: 'flaky', options: { succeedOnTry: 3 }, retries: 3, retryDelayMs: 20 }, after: { kind: 'effect', upstream: ['flaky'] } },
});

const failing = defineDag({
  id: 'failing',
  tasks: {
    boom: { kind: 'flaky', options: { permanent: true }, retries: 2 },
    next: { kind: 'effect', upstream: ['boom'] },
    last: { kind: 'effect', upstream: ['next'] },
    cleanup: { kind: 'effect', upstream: ['boom'], triggerRule: 'all_done' },
    alert: { kind: 'effect', upstream: ['boom'], triggerRule: 'one_failed' },
    tolerant: { kind: 'effect', upstream: ['next'], triggerRule: 'none_failed' },
  },
});

const fanout = defineDag({
  id: 'fanout',
  tasks: {
    list: { kind: 'noop', options: { result: { files: ['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv'] } } },
    each: { kind: 'effect', upstream: ['list'], mapOver: { task: 'list', path: 'files' } },
    report: { kind: 'effect', options: { label: 'report' }, upstream: ['each'] },
  },
});

const timing = defineDag({
  id: 'timing',
  tasks: {
    slow: { kind: 'noop', options: { sleepMs: 5_000 }, timeoutMs: 200 },
    sensor: { kind: 'poker', options: { times: 3 } },
  },
});

describe.each(BACKENDS)('engine on %s', (backend) => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend, dags: [diamond, retrying, failing, fanout, timing] });
  });
  afterAll(async () => t?.close());

  const effects = async (runId: number) =>
    (
      await t.database.pool.query<{ task_id: string; map_index: number; at: Date }>(
        'SELECT task_id, map_index, at FROM effects WHERE run_id = $1 ORDER BY at',
        [runId],
      )
    ).rows;

  it('runs a diamond once per task, upstreams first', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('diamond')!, { date: '2025-05-13' });
    expect(await t.waitForRun(runId)).toBe('success');
    const order = (await effects(runId)).map((e) => e.task_id);
    expect(order.sort()).toEqual(['a', 'b', 'c', 'd']);
    const at = Object.fromEntries((await effects(runId)).map((e) => [e.task_id, e.at.getTime()]));
    expect(at.a).toBeLessThan(at.b);
    expect(at.a).toBeLessThan(at.c);
    expect(at.d).toBeGreaterThan(Math.max(at.b, at.c));
    // A try's duration covers its handler (c sleeps 30 ms), not only the claim.
    const tries = await t.engine.pool.query(
      `SELECT tt.duration_ms, ti.duration_ms AS instance_ms FROM task_tries tt JOIN task_instances ti ON ti.id = tt.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'c'`,
      [runId],
    );
    expect(tries.rows[0].duration_ms).toBeGreaterThanOrEqual(30);
    expect(tries.rows[0].instance_ms).toBe(tries.rows[0].duration_ms);
  });

  it('retries with backoff until success and keeps every try', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('retrying')!, { date: '2025-05-13' });
    expect(await t.waitForRun(runId)).toBe('success');
    const { rows } = await t.database.pool.query(
      `SELECT tt.try_number, tt.state FROM task_tries tt JOIN task_instances ti ON ti.id = tt.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'flaky' ORDER BY tt.try_number`,
      [runId],
    );
    expect(rows).toEqual([
      { try_number: 1, state: 'failed' },
      { try_number: 2, state: 'failed' },
      { try_number: 3, state: 'success' },
    ]);
  });

  it('a permanent failure is not retried; downstream follows trigger rules and the run fails', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('failing')!, { date: '2025-05-13' });
    expect(await t.waitForRun(runId)).toBe('failed');
    expect(await t.taskStates(runId)).toEqual({
      boom: 'failed',
      next: 'upstream_failed',
      last: 'upstream_failed',
      cleanup: 'success',
      alert: 'success',
      tolerant: 'upstream_failed',
    });
    const tries = await t.database.pool.query(
      `SELECT count(*)::int AS n FROM task_tries tt JOIN task_instances ti ON ti.id = tt.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'boom'`,
      [runId],
    );
    expect(tries.rows[0].n).toBe(1);
  });

  it('mark leaves downstream alone (like Airflow); clear with downstream re-runs them with new tries', async () => {
    const dag = t.dags.get('failing')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-14' });
    expect(await t.waitForRun(runId)).toBe('failed');
    await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'boom', 'success');
    expect(await t.waitForRun(runId)).toBe('failed');
    expect((await t.taskStates(runId)).next).toBe('upstream_failed');

    expect(await clearTasks(t.engine.pool, t.engine.dispatcher, dag, runId, 'next', true)).toEqual(['next', 'last', 'tolerant']);
    expect(await t.waitForRun(runId)).toBe('success');
    expect((await effects(runId)).filter((e) => e.task_id === 'last')).toHaveLength(1);

    await clearTasks(t.engine.pool, t.engine.dispatcher, dag, runId, 'next', true);
    expect(await t.waitForRun(runId)).toBe('success');
    expect((await effects(runId)).filter((e) => e.task_id === 'last')).toHaveLength(2);
    const { rows } = await t.database.pool.query(`SELECT try_number FROM task_instances WHERE run_id = $1 AND task_id = 'last'`, [runId]);
    expect(rows[0].try_number).toBe(2);
  });

  it('maps over an upstream list: one instance per item, results gathered in order', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('fanout')!, { date: '2025-05-13' });
    expect(await t.waitForRun(runId)).toBe('success');
    const states = await t.taskStates(runId);
    expect(Object.keys(states).filter((k) => k.startsWith('each[')).length).toBe(5);
    const { rows } = await t.database.pool.query(
      `SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = -1`,
      [runId],
    );
    expect(rows[0].result.map((r: { item: string }) => r.item)).toEqual(['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv']);
    const report = (await effects(runId)).filter((e) => e.task_id === 'report');
    expect(report).toHaveLength(1);
  });

  it('a try over its timeout fails with TASK_TIMEOUT; a sensor re-schedules itself until satisfied; logs are kept', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('timing')!, { date: '2025-05-13' });
    expect(await t.waitForRun(runId)).toBe('failed');
    const { rows } = await t.database.pool.query(
      `SELECT task_id, state, error_code, result, pokes FROM task_instances WHERE run_id = $1 ORDER BY task_id`,
      [runId],
    );
    expect(rows).toEqual([
      { task_id: 'sensor', state: 'success', error_code: null, result: { pokes: 3 }, pokes: 3 },
      { task_id: 'slow', state: 'failed', error_code: 'TASK_TIMEOUT', result: null, pokes: 0 },
    ]);
    const logs = await taskLogs(t.database.pool, runId, 'slow');
    expect(logs.map((l) => l.message)).toEqual(['try started', 'TASK_TIMEOUT: try exceeded its timeout of 200 ms']);
  });

  it('a job delivered twice changes nothing the second time', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('diamond')!, { date: '2025-05-20' });
    expect(await t.waitForRun(runId)).toBe('success');
    const { rows } = await t.database.pool.query<{ id: number; try_number: number }>(
      `SELECT id, try_number FROM task_instances WHERE run_id = $1 AND task_id = 'd'`,
      [runId],
    );
    const deps = { ...t.engine.executorDeps(), workerName: 'dup', enqueue: () => Promise.resolve() };
    expect(await executeTry(deps, { taskInstanceId: rows[0].id, tryNumber: rows[0].try_number })).toBe('noop');
    expect((await effects(runId)).filter((e) => e.task_id === 'd')).toHaveLength(1);
  });

  it('two deliveries racing on the same try commit one effect', async () => {
    const dag = t.dags.get('diamond')!;
    const run = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-21' });
    expect(await t.waitForRun(run.runId)).toBe('success');
    // Re-open task b's finished try as if its job were re-delivered while still running.
    const { rows } = await t.database.pool.query<{ id: number; try_number: number }>(
      `UPDATE task_instances SET state = 'running' WHERE run_id = $1 AND task_id = 'b' RETURNING id, try_number`,
      [run.runId],
    );
    await t.database.pool.query(`UPDATE dag_runs SET state = 'running' WHERE id = $1`, [run.runId]);
    const deps = { ...t.engine.executorDeps(), workerName: 'racer', enqueue: () => Promise.resolve() };
    const job = { taskInstanceId: rows[0].id, tryNumber: rows[0].try_number };
    await Promise.all([executeTry(deps, job), executeTry(deps, job)]);
    expect((await effects(run.runId)).filter((e) => e.task_id === 'b')).toHaveLength(2); // the first run + exactly one of the racers
  });

  it('the sweeper re-enqueues a queued task whose job was lost', async () => {
    const paused = await startTestEngine({ backend, dags: [diamond], workers: false });
    try {
      const { runId } = await triggerRun(paused.engine.pool, paused.engine.dispatcher, paused.dags.get('diamond')!, { date: '2025-06-01' });
      // Lose the job: drain the queue as if Redis had been wiped.
      await paused.engine.backend.queue('effect').obliterate({ force: true });
      paused.engine.startWorkers({ concurrency: () => 2, lockDurationMs: 5_000 });
      await new Promise((r) => setTimeout(r, 300));
      expect((await paused.taskStates(runId)).a).toBe('queued');
      const repaired = await paused.engine.dispatcher.sweep(0);
      expect(repaired).toBeGreaterThanOrEqual(1);
      expect(await paused.waitForRun(runId)).toBe('success');
    } finally {
      await paused.close();
    }
  });
});
