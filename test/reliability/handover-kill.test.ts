/**
 * Hand-over under kill -9: the worker that ends `first` claims `long` in the same transaction and
 * runs it without a queue job; killed during `long`, it leaves no effect and no job behind. The
 * lease expires, the sweeper enqueues `long`'s job, another worker runs it (the killed attempt on
 * record as lost), and every task's effect is committed exactly once. Body starts are counted in
 * a file outside the database.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { startCluster, type Cluster } from './harness.ts';
import { waitForRunState, waitForTaskRunning } from './scenarios.ts';

describe('kill -9 during a handed-over try (redis)', () => {
  let c: Cluster;
  let counter: string;
  beforeAll(async () => {
    c = await startCluster();
    c.engine.startSweeper(500, 500);
    counter = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'handover-')), 'starts.txt');
  });
  afterAll(async () => {
    await c?.close();
    await fs.rm(path.dirname(counter), { recursive: true, force: true });
  });

  it('the lost try is re-delivered after its lease and every effect commits once', async () => {
    const env = { CHAOS_COUNTER_FILE: counter };
    const first = await c.spawnWorker(env);
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('handover')!, { date: '2025-07-01' });
    await waitForTaskRunning(c, runId, 'long');
    const jobId = `r${runId}-long-m-1-t1`;
    // Handed over: running on the worker that ended `first`, with no job on the queue.
    const { rows: [running] } = await c.database.pool.query<{ worker: string }>(
      `SELECT worker FROM task_instances WHERE run_id = $1 AND task_id = 'long'`, [runId]);
    expect(Number(running.worker.split(':').pop())).toBe(first.pid);
    expect(await c.engine.backend.queue('slow_effect').getJob(jobId)).toBeUndefined();

    // Running in the database is the claim's COMMIT; kill once the body has started (it writes its start first).
    const bodyStarted = `long ${first.pid}`;
    for (let i = 0; i < 200 && !(await fs.readFile(counter, 'utf8').catch(() => '')).includes(bodyStarted); i++) await new Promise((r) => setTimeout(r, 50));
    first.kill('SIGKILL');
    const second = await c.spawnWorker(env);
    expect(await waitForRunState(c, runId, 60_000)).toBe('success');

    const attempts = await c.database.pool.query<{ task_id: string; state: string; worker: string }>(
      `SELECT ti.task_id, a.state, a.worker FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 ORDER BY ti.task_id, a.attempt`, [runId]);
    const pidOf = (worker: string) => Number(worker.split(':').pop());
    expect(attempts.rows.map((a) => [a.task_id, a.state, pidOf(a.worker)])).toEqual([
      ['first', 'success', first.pid],
      ['last', 'success', second.pid],
      ['long', 'lost', first.pid],
      ['long', 'success', second.pid],
    ]);
    const effects = await c.database.pool.query<{ task_id: string; n: number }>(
      'SELECT task_id, count(*)::int AS n FROM chaos_effects WHERE run_id = $1 GROUP BY task_id ORDER BY task_id', [runId]);
    expect(effects.rows).toEqual([{ task_id: 'first', n: 1 }, { task_id: 'last', n: 1 }, { task_id: 'long', n: 1 }]);
    const starts = (await fs.readFile(counter, 'utf8')).trim().split('\n').map((l) => l.split(' ').slice(1).join(' '));
    expect(starts).toEqual([`first ${first.pid}`, `long ${first.pid}`, `long ${second.pid}`, `last ${second.pid}`]);
  }, 90_000);
});
