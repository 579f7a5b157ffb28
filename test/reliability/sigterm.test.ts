/**
 * SIGTERM of a worker mid-task: it finishes the try it is running (same worker, one attempt, no
 * loss), exits 0, and the next worker takes the rest of the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { startCluster, waitFor, type Cluster } from './harness.ts';

describe('graceful stop of a worker', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => {
    await c?.close();
  });

  it('finishes the running try, exits 0, and another worker completes the run', async () => {
    const first = await c.spawnWorker();
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chain')!, { date: '2025-05-13' });
    await waitFor(async () => (await c.database.pool.query(
      `SELECT 1 FROM task_instances WHERE run_id = $1 AND task_id = 'a' AND state = 'running'`, [runId])).rowCount === 1, 30_000, 'task a to run');
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    first.kill('SIGTERM');
    expect(await exited).toBe(0);
    const a = await c.database.pool.query<{ state: string; worker: string }>(
      `SELECT a.state, a.worker FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'a'`, [runId]);
    expect(a.rows).toEqual([{ state: 'success', worker: expect.stringMatching(new RegExp(`:${first.pid}$`)) }]);
    await c.spawnWorker();
    await waitFor(async () => (await c.database.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state === 'success',
      30_000, 'the run to succeed');
  }, 90_000);
});
