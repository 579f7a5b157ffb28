/**
 * kill -9 of a worker between a report's COMMIT and its rename. The test holds the lock a file
 * effect takes on its final path before the rename (engine/file-effects.ts), so the worker stops
 * exactly there — the run is success in the database, the effect pending, the file not in place —
 * and is killed. The sweeper then completes the rename: the `reports` row's sha256 is the sha256
 * of the file on disk, no temp file is left, and the task's log says who put the file in place.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_EFFECT_LOCK } from '../../engine/file-effects.ts';
import { triggerRun } from '../../engine/operations.ts';
import { startCluster, waitFor, type Cluster } from './harness.ts';
import { waitForRunState } from './scenarios.ts';

describe('kill -9 between a report\'s COMMIT and its rename (redis)', () => {
  let c: Cluster;
  let dir: string;
  beforeAll(async () => {
    c = await startCluster();
    dir = await fs.realpath(await c.tempDir('report-rename-kill'));
  });
  afterAll(async () => {
    await c?.close();
  });

  const q = async <T extends object>(sql: string, values: unknown[]) => (await c.database.pool.query<T>(sql, values)).rows;
  const effectStates = (runId: number) => q<{ state: string }>(
    'SELECT e.state FROM file_effects e JOIN task_instances ti ON ti.id = e.task_instance_id WHERE ti.run_id = $1', [runId]);

  it('the sweeper completes the rename; the reports row and the file agree', async () => {
    const final = path.join(dir, 'r_20250801.csv');
    const holder = await c.database.pool.connect();
    let runId: number;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FILE_EFFECT_LOCK, final]);
      const worker = await c.spawnWorker();
      ({ runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chaos_report')!, { date: '2025-08-01', params: { dir } }));
      expect(await waitForRunState(c, runId, 30_000)).toBe('success');
      await waitFor(async () => (await q(
        `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND NOT granted`, [FILE_EFFECT_LOCK])).length === 1,
      10_000, 'the worker to wait for the rename');
      // Committed, not renamed: the worker is between the two.
      expect(await effectStates(runId)).toEqual([{ state: 'pending' }]);
      expect(await fs.readdir(dir)).toEqual([expect.stringMatching(/^\.r_20250801\.csv\.[0-9a-f]{12}\.tmp$/)]);
      const exit = once(worker, 'exit');
      worker.kill('SIGKILL');
      await exit;
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }

    await waitFor(async () => {
      await c.engine.dispatcher.sweep(0);
      return (await effectStates(runId))[0].state === 'done';
    }, 15_000, 'the sweeper to complete the rename');
    const [row] = await q<{ path: string; sha256: string }>('SELECT path, sha256 FROM reports WHERE run_id = $1', [runId]);
    expect(row.path).toBe(final);
    expect(createHash('sha256').update(await fs.readFile(final)).digest('hex')).toBe(row.sha256);
    expect(await fs.readdir(dir)).toEqual(['r_20250801.csv']);
    const logged = await q<{ message: string }>(
      'SELECT l.message FROM task_logs l JOIN task_instances ti ON ti.id = l.task_instance_id WHERE ti.run_id = $1', [runId]);
    expect(logged.map((l) => l.message)).toContain(`file ${final} put in place by the sweeper`);
  }, 90_000);
});
