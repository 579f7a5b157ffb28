/**
 * Postgres restarted under running work (`-m immediate`, then up again), and stopped for 20 s:
 * the worker and a `trib scheduler` with no cron DAG survive with the same PIDs, the try in flight
 * is retried by the engine as an infrastructure error without touching the task's own retries,
 * every run finishes, and each task's effect is committed exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { alive, spawnScheduler, startCluster, waitFor, type Cluster } from './harness.ts';

describe('Postgres restarts under a worker and a scheduler (redis queues)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => {
    await c?.close();
  });

  async function runChain(day: string, outage: () => Promise<void>) {
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chain')!, { day });
    await waitFor(async () => (await c.database.pool.query(
      `SELECT 1 FROM task_instances WHERE run_id = $1 AND task_id = 'a' AND state = 'running'`, [runId])).rowCount === 1, 30_000, 'task a to run');
    await new Promise((r) => setTimeout(r, 500));
    await outage();
    await waitFor(async () => (await c.database.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state === 'success',
      90_000, `run ${runId} to succeed`);
    const tasks = await c.database.pool.query<{ task_id: string; try_number: number; max_tries: number }>(
      'SELECT task_id, try_number, max_tries FROM task_instances WHERE run_id = $1 ORDER BY task_id', [runId]);
    expect(tasks.rows.map((t) => [t.task_id, t.try_number])).toEqual([['a', 1], ['b', 1], ['c', 1]]);
    const effects = await c.database.pool.query('SELECT task_id, count(*)::int AS n FROM chaos_effects WHERE run_id = $1 GROUP BY 1 ORDER BY 1', [String(runId)]);
    expect(effects.rows).toEqual([{ task_id: 'a', n: 1 }, { task_id: 'b', n: 1 }, { task_id: 'c', n: 1 }]);
    const attempts = await c.database.pool.query<{ state: string; error_code: string | null }>(
      `SELECT a.state, a.error_code FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'a' ORDER BY a.attempt`, [runId]);
    return attempts.rows;
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
    // One line per outage, not a storm of them.
    expect(scheduler.output().match(/database unavailable/g)?.length ?? 0).toBeLessThanOrEqual(4);
  }, 180_000);
});
