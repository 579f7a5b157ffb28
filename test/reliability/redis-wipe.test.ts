/**
 * Redis killed and restarted empty while a 6 s task runs and a retry waits out its 6 s backoff:
 * the sweeper rebuilds the queue from Postgres, the running task's body executes ONCE (its lease
 * is live, so it is not re-delivered; a file outside the database counts body starts), the retry
 * keeps its delay, nothing stays queued, and the run succeeds.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { alive, startCluster, waitFor, type Cluster } from './harness.ts';

describe('Redis wiped mid-run', () => {
  let c: Cluster;
  let counter: string;
  beforeAll(async () => {
    c = await startCluster();
    c.engine.startSweeper(1000, 500);
    counter = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'chaos-counter-')), 'starts.log');
  });
  afterAll(async () => {
    await c?.close();
    await fs.rm(path.dirname(counter), { recursive: true, force: true });
  });

  it('runs every body once, keeps the retry delay, and finishes', async () => {
    const worker = await c.spawnWorker({ CONCURRENCY: '2', CHAOS_COUNTER_FILE: counter });
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('redis_wipe')!, { date: '2025-05-13' });
    const row = async (task: string) => (await c.database.pool.query<{ state: string; not_before: Date | null }>(
      'SELECT state, not_before FROM task_instances WHERE run_id = $1 AND task_id = $2', [runId, task])).rows[0];
    await waitFor(async () => (await row('long')).state === 'running' && (await row('retried')).state === 'up_for_retry', 30_000, 'long running, retried waiting');
    const retryNotBefore = (await row('retried')).not_before as Date;
    await c.redis.wipe(500);

    await waitFor(async () => (await c.database.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state === 'success',
      60_000, 'the run to succeed');
    const starts = (await fs.readFile(counter, 'utf8')).trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
    const count = (task: string) => starts.filter((s) => s === `${runId} ${task}`).length;
    expect({ long: count('long'), retried: count('retried'), after: count('after') }).toEqual({ long: 1, retried: 2, after: 1 });
    const effects = await c.database.pool.query('SELECT task_id, count(*)::int AS n FROM chaos_effects WHERE run_id = $1 GROUP BY 1 ORDER BY 1', [String(runId)]);
    expect(effects.rows).toEqual([{ task_id: 'after', n: 1 }, { task_id: 'long', n: 1 }]);
    // The retry's second try started no earlier than its backoff allowed, although its job was wiped.
    const second = await c.database.pool.query<{ started_at: Date }>(
      `SELECT a.started_at FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'retried' AND a.try_number = 2`, [runId]);
    expect(second.rows[0].started_at.getTime()).toBeGreaterThanOrEqual(retryNotBefore.getTime() - 50);
    const stuck = await c.database.pool.query(`SELECT count(*)::int AS n FROM task_instances WHERE state IN ('queued', 'running', 'up_for_retry')`);
    expect(stuck.rows[0].n).toBe(0);
    expect(alive(worker)).toBe(true);
  }, 120_000);
});
