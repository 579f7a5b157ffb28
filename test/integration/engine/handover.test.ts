/**
 * Hand-over: a try's success claims the next try it made ready on the same queue, in the same
 * transaction, and the same worker slot runs it with no queue job — up to HANDOVER_MAX in a row,
 * then the next goes through the queue again. A task with a priority, or on another queue, always
 * goes through the queue. Job presence is read from the queue itself; order and effects from our
 * own SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../../support/engine.ts';

const chain = defineDag({
  id: 'chain5',
  tasks: {
    t0: { kind: 'effect' },
    t1: { kind: 'effect', upstream: ['t0'] },
    t2: { kind: 'effect', upstream: ['t1'] },
    t3: { kind: 'effect', upstream: ['t2'] },
    t4: { kind: 'effect', upstream: ['t3'] },
  },
});
const mixed = defineDag({
  id: 'mixed',
  tasks: {
    a: { kind: 'effect' },
    urgent: { kind: 'effect', upstream: ['a'], priority: 1 },
    other: { kind: 'noop', upstream: ['urgent'] },
    last: { kind: 'effect', upstream: ['other'] },
  },
});

for (const backend of BACKENDS) {
  describe(`hand-over (${backend})`, () => {
    let t: TestEngine;
    beforeAll(async () => {
      t = await startTestEngine({ backend, dags: [chain, mixed], concurrency: 1, handoverMax: 2 });
    });
    afterAll(async () => {
      await t?.close();
    });

    /** Task ids whose try has a job on its queue. */
    async function queued(runId: number, tasks: Record<string, string>): Promise<string[]> {
      const found: string[] = [];
      for (const [task, queue] of Object.entries(tasks)) {
        if (await t.engine.backend.queue(queue).getJob(`r${runId}-${task}-m-1-t1`)) found.push(task);
      }
      return found;
    }

    it('runs up to HANDOVER_MAX tries in a row without a queue job, in order, each once', async () => {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('chain5'), { date: '2025-03-01' });
      expect(await t.waitForRun(runId)).toBe('success');
      // t0 came from the queue and handed over t1 and t2; t3 went through the queue and handed over t4.
      const effect = 'effect';
      expect(await queued(runId, { t0: effect, t1: effect, t2: effect, t3: effect, t4: effect })).toEqual(['t0', 't3']);
      const { rows } = await t.database.pool.query<{ task_id: string; n: number; ordered: boolean }>(
        `SELECT ti.task_id, (SELECT count(*)::int FROM effects e WHERE e.run_id = $1 AND e.task_id = ti.task_id) AS n,
           ti.started_at >= coalesce((SELECT u.ended_at FROM task_instances u WHERE u.run_id = $1 AND u.map_index = -1
             AND u.task_id = 't' || (substr(ti.task_id, 2)::int - 1)), '-infinity') AS ordered
         FROM task_instances ti WHERE ti.run_id = $1 ORDER BY ti.task_id`,
        [runId],
      );
      expect(rows).toEqual(['t0', 't1', 't2', 't3', 't4'].map((task_id) => ({ task_id, n: 1, ordered: true })));
      const attempts = await t.database.pool.query<{ n: number; workers: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT a.worker)::int AS workers FROM task_attempts a
         JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 AND a.state = 'success'`,
        [runId],
      );
      expect(attempts.rows[0]).toEqual({ n: 5, workers: 1 });
    });

    it('never hands over a task with a priority or on another queue', async () => {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('mixed'), { date: '2025-03-01' });
      expect(await t.waitForRun(runId)).toBe('success');
      expect(await queued(runId, { a: 'effect', urgent: 'effect', other: 'noop', last: 'effect' })).toEqual(['a', 'urgent', 'other', 'last']);
    });
  });
}
