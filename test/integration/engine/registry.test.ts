/**
 * The task graph the engine's SQL functions decide from (dag_tasks) is what the DAG file says:
 * registration writes every task's edges, rule, queue, priority, mapping and callback events,
 * re-registration follows a changed file (a dropped task disappears), and a run whose DAG has no
 * registered graph is never ended by mistake (TRB01) — it stays running.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileDag, defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { registerDags } from '../../../engine/runs.ts';
import { advanceRun } from '../../../engine/transitions.ts';
import { withTransaction } from '../../../db/client.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const spec = defineDag({
  id: 'graph',
  onSuccess: { log: { level: 'info' } },
  tasks: {
    list: { kind: 'noop', options: { result: { files: ['a'] } } },
    each: { kind: 'effect', upstream: ['list'], mapOver: { task: 'list', path: 'files' }, retries: 2, onFailure: { log: {} } },
    report: { kind: 'noop', upstream: ['each'], triggerRule: 'all_done', priority: 3 },
  },
});

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ backend: 'redis', dags: [spec], workers: false });
});
afterAll(async () => {
  await t?.close();
});

const graph = async (dagId: string) =>
  (await t.database.pool.query(
    `SELECT task_id, ord, upstream, downstream, trigger_rule, queue, priority, retries, map_over_task, map_over_path, callback_events
     FROM dag_tasks WHERE dag_id = $1 ORDER BY ord`, [dagId])).rows;

describe('dag_tasks', () => {
  it('holds the compiled graph of each registered DAG', async () => {
    expect(await graph('graph')).toEqual([
      { task_id: 'list', ord: 0, upstream: [], downstream: ['each'], trigger_rule: 'all_success', queue: 'noop', priority: null, retries: 0, map_over_task: null, map_over_path: null, callback_events: [] },
      { task_id: 'each', ord: 1, upstream: ['list'], downstream: ['report'], trigger_rule: 'all_success', queue: 'effect', priority: null, retries: 2, map_over_task: 'list', map_over_path: 'files', callback_events: ['failure'] },
      { task_id: 'report', ord: 2, upstream: ['each'], downstream: [], trigger_rule: 'all_done', queue: 'noop', priority: 3, retries: 0, map_over_task: null, map_over_path: null, callback_events: [] },
    ]);
    const { rows } = await t.database.pool.query('SELECT max_active_runs, run_callbacks FROM dags WHERE dag_id = $1', ['graph']);
    expect(rows).toEqual([{ max_active_runs: 1, run_callbacks: ['success'] }]);
  });

  it('follows a changed DAG file: a dropped task is gone, a changed rule is updated', async () => {
    const changed = defineDag({ ...spec, tasks: { list: spec.tasks.list, report: { kind: 'noop', upstream: ['list'], triggerRule: 'one_failed' } } });
    await registerDags(t.engine.pool, [compileDag(changed, 'test/graph.ts', t.kinds)]);
    expect((await graph('graph')).map((r) => [r.task_id, r.upstream, r.downstream, r.trigger_rule])).toEqual([
      ['list', [], ['report'], 'all_success'],
      ['report', ['list'], [], 'one_failed'],
    ]);
    await registerDags(t.engine.pool, t.dags.values());
    expect((await graph('graph')).map((r) => r.task_id)).toEqual(['list', 'each', 'report']);
  });

  it('never ends a run whose DAG has no registered graph', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('graph'), { date: '2025-04-01' });
    await t.database.pool.query("UPDATE task_instances SET state = 'success' WHERE run_id = $1", [runId]);
    await t.database.pool.query("DELETE FROM dag_tasks WHERE dag_id = 'graph'");
    try {
      await expect(withTransaction(t.engine.pool, (c) => advanceRun(c, runId))).rejects.toMatchObject({ code: 'TRB01' });
      const { rows } = await t.database.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId]);
      expect(rows[0].state).toBe('running');
    } finally {
      await registerDags(t.engine.pool, t.dags.values());
    }
    const ended = await withTransaction(t.engine.pool, (c) => advanceRun(c, runId));
    expect(ended.runState).toBe('success');
  });
});
