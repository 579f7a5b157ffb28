/**
 * The Postgres-restart suite (pg-restart.test.ts runs it on Redis queues, pg-restart-postgres.test.ts
 * on BullMQ's Postgres backend, where the queue goes down too).
 * Postgres restarted under running work (`-m immediate`, then up again), and stopped for 20 s:
 * the worker and a `trib scheduler` with no cron DAG survive with the same PIDs, the try in flight
 * is retried by the engine as an infrastructure error without touching the task's own retries,
 * every run finishes, and each task's effect is committed exactly once. Down longer than the worker
 * waits to record its end, the attempt taken over is still an outage (`infra_error`), never `lost`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendKind } from '../support/engine.ts';
import { alive, spawnScheduler, startCluster, type Cluster } from './harness.ts';
import { chainThroughOutage } from './scenarios.ts';

/** The suite on one queue backend (one test file each, so the two run in parallel). */
export function pgRestartSuite(backend: BackendKind): void {
  describe(`Postgres restarts under a worker and a scheduler (${backend} queues)`, () => {
    let c: Cluster;
    beforeAll(async () => {
      c = await startCluster({ backend });
    });
    afterAll(async () => {
      await c?.close();
    });

    async function runChain(day: string, outage: () => Promise<void>) {
      const run = await chainThroughOutage(c, day, outage);
      expect(run.state).toBe('success');
      expect(run.tries).toEqual([['a', 1], ['b', 1], ['c', 1]]);
      expect(run.effects).toEqual([['a', 1], ['b', 1], ['c', 1]]);
      return run.attempts;
    }

    it('restart mid-task, then 20 s down mid-task: same PIDs, runs succeed, user retries untouched', async () => {
      const worker = await c.spawnWorker({ CONCURRENCY: '2' });
      const scheduler = await spawnScheduler(c);
      const pids = [worker.pid, scheduler.child.pid];

      const restarted = await runChain('2025-05-13', () => c.pg.restart(1000));
      expect(restarted.at(-1)).toEqual({ state: 'success', error_code: null });
      expect(restarted.slice(0, -1).map((a) => a.state)).toContain('infra_error');

      const stopped = await runChain('2025-05-14', () => c.pg.restart(20_000));
      expect(stopped.at(-1)).toEqual({ state: 'success', error_code: null });
      expect(stopped.slice(0, -1).map((a) => a.state)).toContain('infra_error');

      expect(alive(worker) && alive(scheduler.child)).toBe(true);
      expect([worker.pid, scheduler.child.pid]).toEqual(pids);

      // Down longer than a worker waits to record its attempt's end (and than the lease): the attempt
      // the sweeper's claim takes over started before the server did, so it is an outage, not a lost worker.
      worker.kill('SIGTERM');
      const patient = await c.spawnWorker({ CONCURRENCY: '2', RECORD_WAIT_MS: '1500' });
      const outlasted = await runChain('2025-05-15', () => c.pg.restart(8_000));
      expect(outlasted.map((a) => a.state)).not.toContain('lost');
      expect(outlasted.slice(0, -1).map((a) => a.error_code)).toContain('DATABASE_UNAVAILABLE');
      expect(alive(patient)).toBe(true);
      // One line per outage, not a storm of them (the callback deliverer polls every second), and
      // one when it is back, with the passes that failed meanwhile.
      expect(scheduler.output().match(/database unavailable/g)?.length ?? 0).toBeLessThanOrEqual(4);
      expect(scheduler.output()).not.toMatch(/pass failed/);
      expect(scheduler.output()).toMatch(/"failed_passes":\d+.*database available again/);
      // An attempt an outage ended says so with a code.
      for (const a of [...restarted, ...stopped].filter((x) => x.state === 'infra_error')) expect(a.error_code).not.toBeNull();
    }, 180_000);
  });
}
