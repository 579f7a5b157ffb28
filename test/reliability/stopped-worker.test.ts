/**
 * A worker SIGSTOPped mid-load (a frozen VM, a paused container, a debugger) for more than twice
 * its lease: the takeover ends its database session, so the new attempt finishes the load while
 * the first worker is still stopped; after SIGCONT the first worker finds its claim taken, commits
 * nothing, and its attempt records when it came back (fenced). Rows equal the file's truth.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { alive, sleep, startCluster, waitFor, type Cluster } from './harness.ts';
import { writeItemsFile } from './items-file.ts';
import { accountLoad, expectedAccount, waitForRunState, waitForTaskRunning } from './scenarios.ts';

const ROWS = 150_000;
const JOB_LOCK_MS = 2_000;

describe('a worker stopped mid-load (redis)', () => {
  let c: Cluster;
  let dir: string;
  beforeAll(async () => {
    c = await startCluster({ jobLockMs: JOB_LOCK_MS });
    c.engine.startSweeper(500, 500);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stopped-worker-'));
  });
  afterAll(async () => {
    await c?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is taken over while still stopped, its session ended; resumed, it is fenced and commits nothing', async () => {
    const file = path.join(dir, 'items.csv');
    const truth = await writeItemsFile(file, ROWS);
    const stopped = await c.spawnWorker();
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chaos_load')!, {
      date: '2025-07-01', params: { file },
    });
    await waitForTaskRunning(c, runId, 'load');
    await sleep(300); // inside the load's transaction: rows copied, locks held
    const { rows: [first] } = await c.database.pool.query<{ backend_pid: number }>(
      `SELECT a.backend_pid FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'load' AND a.attempt = 1`, [runId]);
    expect(first.backend_pid).toBeGreaterThan(0);
    stopped.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await sleep(2 * JOB_LOCK_MS);
      const taker = await c.spawnWorker();
      expect(await waitForRunState(c, runId, 60_000)).toBe('success');
      const takeoverS = (Date.now() - stoppedAt) / 1000;
      console.log(`stopped worker taken over: run done ${takeoverS.toFixed(1)} s after SIGSTOP`);
      const { rows: sessions } = await c.database.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [first.backend_pid]);
      expect(sessions).toEqual([]); // the stopped worker's session was ended, its locks with it
      expect(alive(taker)).toBe(true);
    } finally {
      stopped.kill('SIGCONT');
    }
    const account = await accountLoad(c, runId);
    expect({ ...account, attempts: undefined }).toEqual({ ...expectedAccount(truth), attempts: undefined });
    // Resumed, the first worker finds its claim taken and records it on its attempt; nothing of it commits.
    await waitFor(async () => (await c.database.pool.query(
      `SELECT 1 FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND a.attempt = 1 AND a.fenced_at IS NOT NULL`, [runId])).rows.length === 1, 30_000, 'the fenced end');
    const { rows: attempts } = await c.database.pool.query<{ attempt: number; state: string; fenced: boolean }>(
      `SELECT a.attempt, a.state, a.fenced_at IS NOT NULL AS fenced FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'load' ORDER BY a.attempt`, [runId]);
    expect(attempts).toEqual([
      { attempt: 1, state: 'lost', fenced: true },
      { attempt: 2, state: 'success', fenced: false },
    ]);
    expect(await accountLoad(c, runId)).toEqual(account);
  }, 120_000);
});
