/**
 * A task that SIGKILLs its own worker every time (like an out-of-memory kill): each lost attempt
 * is recorded, and at WORKER_LOST_LIMIT (2) lost attempts the try fails with WORKER_LOST instead of looping
 * forever; downstream tasks follow their trigger rules and the run ends. A supervisor here
 * restarts dead workers, as systemd or Kubernetes would.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { startCluster, waitFor, type Cluster } from './harness.ts';

describe('a task that kills its worker every time (redis)', () => {
  let c: Cluster;
  let supervising = true;
  beforeAll(async () => {
    c = await startCluster();
    c.engine.startSweeper(500, 500);
  });
  afterAll(async () => {
    supervising = false;
    await c?.close();
  });

  it('fails with WORKER_LOST after the limit; all_done downstream runs, all_success downstream does not', async () => {
    const deaths: number[] = [];
    const supervise = (w: ChildProcess) => w.once('exit', () => {
      deaths.push(w.pid as number);
      if (supervising) void c.spawnWorker().then(supervise);
    });
    supervise(await c.spawnWorker());
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('suicide')!, { date: '2025-05-13' });
    await waitFor(async () => ['success', 'failed'].includes(
      (await c.database.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state), 90_000, 'the run to end');
    supervising = false;

    const tasks = await c.database.pool.query<{ task_id: string; state: string; error_code: string | null; try_number: number }>(
      'SELECT task_id, state, error_code, try_number FROM task_instances WHERE run_id = $1 ORDER BY task_id', [runId]);
    expect(tasks.rows).toEqual([
      { task_id: 'cleanup', state: 'success', error_code: null, try_number: 1 },
      { task_id: 'dies', state: 'failed', error_code: 'WORKER_LOST', try_number: 1 },
      { task_id: 'report', state: 'upstream_failed', error_code: null, try_number: 0 },
    ]);
    expect((await c.database.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state).toBe('failed');
    const attempts = await c.database.pool.query<{ state: string; error_code: string | null; worker: string }>(
      `SELECT a.state, a.error_code, a.worker FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'dies' ORDER BY a.attempt`, [runId]);
    // Two executions, each killing its worker (limit 2: the second loss is the last), then the failing claim.
    expect(attempts.rows.map((a) => a.state)).toEqual(['lost', 'lost', 'failed']);
    expect(attempts.rows[2].error_code).toBe('WORKER_LOST');
    const killedWorkers = new Set(attempts.rows.slice(0, 2).map((a) => Number(a.worker.split(':').pop())));
    expect(killedWorkers.size).toBe(2);
    for (const pid of killedWorkers) expect(deaths).toContain(pid);
    expect(deaths).toHaveLength(2);
  }, 120_000);
});
