/**
 * kill -9 of the worker in the middle of a 4,000-child fan-out: the run succeeds and every child
 * is in effect exactly once (one effect row per even child, written in its try's transaction; an
 * odd child writes nothing, its end held and written with its siblings'); the tries the worker
 * had in flight, held ends among them, are on the record as lost, each followed by one success.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { EFFECTS_TABLE, FANOUT_CHILDREN } from './chaos-dags.ts';
import { startCluster, waitFor, type Cluster } from './harness.ts';
import { killAndReplace, waitForRunState } from './scenarios.ts';

describe(`kill -9 during a ${FANOUT_CHILDREN}-child fan-out (redis)`, () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster();
    c.engine.startSweeper(500, 500);
    await c.database.pool.query(EFFECTS_TABLE);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('every child is in effect once, the lost tries on record', async () => {
    const env = { CONCURRENCY: '8' };
    const first = await c.spawnWorker(env);
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chaos_fanout')!, { date: '2025-08-01' });
    const succeeded = async () => (await c.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index >= 0 AND state = 'success'`, [runId])).rows[0].n;
    await waitFor(async () => (await succeeded()) >= FANOUT_CHILDREN / 4, 90_000, 'a quarter of the children to succeed');
    await killAndReplace(c, first, env);
    expect(await waitForRunState(c, runId, 180_000)).toBe('success');

    const { rows: [effects] } = await c.database.pool.query<{ rows: number; children: number }>(
      'SELECT count(*)::int AS rows, count(DISTINCT task_id)::int AS children FROM chaos_effects WHERE run_id = $1', [runId]);
    expect(effects).toEqual({ rows: FANOUT_CHILDREN / 2, children: FANOUT_CHILDREN / 2 });
    const { rows: attempts } = await c.database.pool.query<{ state: string; pid: number; n: number }>(
      `SELECT a.state, split_part(a.worker, ':', -1)::int AS pid, count(*)::int AS n FROM task_attempts a
       JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 AND ti.map_index >= 0 GROUP BY 1, 2`, [runId]);
    const count = (state: string, pid?: number) => attempts.filter((a) => a.state === state && (pid === undefined || a.pid === pid)).reduce((n, a) => n + a.n, 0);
    expect(count('success')).toBe(FANOUT_CHILDREN);
    // The killed worker's tries in flight: lost (on its pid), each then succeeded elsewhere.
    expect(count('lost')).toBeGreaterThan(0);
    expect(count('lost')).toBe(count('lost', first.pid));
    expect(attempts.map((a) => a.state).filter((s) => s !== 'success' && s !== 'lost')).toEqual([]);
    // Children that wrote nothing were lost too (claimed ahead, or their ends held, when the worker died).
    const { rows: [odd] } = await c.database.pool.query<{ lost: number }>(
      `SELECT count(*)::int AS lost FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.map_index >= 0 AND ti.map_index % 2 = 1 AND a.state = 'lost'`, [runId]);
    expect(odd.lost).toBeGreaterThan(0);
  }, 240_000);
});
