/**
 * Queue retention costs nothing per job: a completion removes no job (BullMQ's removeOnComplete
 * runs a DELETE per completion on the PostgreSQL backend, and its `count` deadlocks under
 * concurrency); the sweeper trims each queue to its newest 2,000 completed jobs, oldest first.
 * Jobs the workers take as no-ops (an unknown instance: nothing to claim) fill the queue fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../../support/engine.ts';

const KEPT = 2000;
const ADDED = KEPT + 150;

for (const backend of BACKENDS) {
  describe(`queue retention (${backend})`, () => {
    let t: TestEngine;
    beforeAll(async () => {
      t = await startTestEngine({ backend, dags: [defineDag({ id: 'one', tasks: { only: { kind: 'noop' } } })], concurrency: 8 });
    });
    afterAll(async () => {
      await t?.close();
    });

    it(`keeps every completed job until the sweep, which leaves the newest ${KEPT}`, async () => {
      const queue = t.engine.backend.queue('noop');
      const ids = Array.from({ length: ADDED }, (_, i) => `retention-${String(i).padStart(5, '0')}`);
      await t.engine.dispatcher.enqueue(ids.map((jobId) => ({ queue: 'noop', jobId, data: { taskInstanceId: 0, tryNumber: 1 } })));
      const deadline = Date.now() + 60_000;
      while ((await queue.getJobCountByTypes('wait', 'active', 'prioritized', 'delayed')) > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await queue.getCompletedCount()).toBe(ADDED);
      expect(await queue.getFailedCount()).toBe(0);
      // Nor does BullMQ remove them by age on each completion (a DELETE per job on PostgreSQL).
      expect((await queue.getJob(ids[0]))?.opts.removeOnComplete).toBe(false);

      await t.engine.dispatcher.trimCompleted();
      expect(await queue.getCompletedCount()).toBe(KEPT);
      // Oldest first: the first jobs added (and completed) are gone, the last ones are kept.
      expect(await queue.getJob(ids[0])).toBeUndefined();
      expect(await queue.getJob(ids[ADDED - 1])).toBeDefined();
    });
  });
}
