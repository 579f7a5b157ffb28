/**
 * kill -9 of a worker at seeded random points during a multi-second load into a table that was
 * just truncated: every run succeeds, rows / refused rows / coercions / ledger equal the planted
 * truth (0 lost, 0 duplicated), the lost attempt is on the record with its worker, the task's own
 * retries are untouched, and the retry takes no more than about twice the first try.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import { startCluster, waitFor, type Cluster } from './harness.ts';
import { writeItemsFile, type ItemsTruth } from './items-file.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261201);
const KILLS = 3;
const ROWS = 150_000;

/** mulberry32: the kill points are reproducible from the seed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('worker kill -9 during a load (redis)', () => {
  let c: Cluster;
  let dir: string;
  beforeAll(async () => {
    c = await startCluster();
    c.engine.startSweeper(1000, 1000);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'chaos-load-'));
  });
  afterAll(async () => {
    await c?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function runDay(day: number, kill: (() => Promise<number>) | null) {
    const file = path.join(dir, `items_${day}.csv`);
    const truth = await writeItemsFile(file, ROWS + day);
    await c.database.pool.query('TRUNCATE chaos_items').catch(() => undefined); // created by the first load
    const dag = c.engine.dags.get('chaos_load')!;
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, dag, { day: `2025-06-${String(day).padStart(2, '0')}`, params: { file } });
    const killedPid = kill ? await kill() : null;
    const killedAt = Date.now();
    await waitFor(async () => (await c.database.pool.query(`SELECT state FROM dag_runs WHERE id = $1`, [runId])).rows[0].state === 'success', 90_000, `run ${runId}`);
    return { runId, truth, killedPid, recoveryMs: Date.now() - killedAt };
  }

  async function check(runId: number, truth: ItemsTruth) {
    const q = async (sql: string) => (await c.database.pool.query(sql, [runId])).rows[0];
    const table = await c.database.pool.query('SELECT count(*)::int AS n, count(DISTINCT item_id)::int AS d, sum(qty)::bigint AS s FROM chaos_items');
    expect(table.rows[0]).toEqual({ n: truth.valid, d: truth.valid, s: truth.qtySum });
    expect((await q('SELECT count(*)::int AS n FROM audit.chaos_items_rejects WHERE run_id = $1')).n).toBe(truth.invalid);
    expect((await q('SELECT count(*)::int AS n FROM audit.chaos_items_coercions WHERE run_id = $1')).n).toBe(truth.trimmed);
    expect((await q('SELECT count(*)::int AS n FROM load_ledger WHERE run_id = $1')).n).toBe(1);
    const task = await q(`SELECT try_number, state FROM task_instances WHERE run_id = $1 AND task_id = 'load'`);
    expect(task).toEqual({ try_number: 1, state: 'success' });
  }

  it(`survives ${KILLS} kills at seeded points (seed ${SEED}): nothing lost, nothing duplicated, every attempt on the record`, async () => {
    const rand = random(SEED);
    let worker = await c.spawnWorker();
    // The first day without a kill measures the first try.
    const first = await runDay(1, null);
    await check(first.runId, first.truth);
    const firstMs = (await c.database.pool.query(
      `SELECT (extract(epoch FROM a.ended_at - a.started_at) * 1000)::float8 AS ms FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1`,
      [first.runId],
    )).rows[0].ms as number;
    const recoveries: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const day = k + 2;
      const delay = 150 + Math.floor(rand() * Math.max(200, firstMs * 0.8));
      const result = await runDay(day, async () => {
        await waitFor(async () => (await c.database.pool.query(
          `SELECT 1 FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id WHERE r.logical_date = $1 AND ti.state = 'running'`,
          [new Date(Date.UTC(2025, 5, day))],
        )).rowCount === 1, 30_000, 'the load to start');
        await new Promise((r) => setTimeout(r, delay));
        const pid = worker.pid as number;
        worker.kill('SIGKILL');
        await new Promise((r) => worker.once('exit', r));
        worker = await c.spawnWorker();
        return pid;
      });
      await check(result.runId, result.truth);
      recoveries.push(result.recoveryMs);
      const attempts = await c.database.pool.query<{ state: string; worker: string; ms: number }>(
        `SELECT a.state, a.worker, (extract(epoch FROM a.ended_at - a.started_at) * 1000)::float8 AS ms
         FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 ORDER BY a.attempt`,
        [result.runId],
      );
      const states = attempts.rows.map((a) => a.state);
      // A kill may land after the commit (then nothing is lost and nothing re-runs).
      if (states.length > 1) {
        expect(states).toEqual(['lost', 'success']);
        expect(attempts.rows[0].worker.endsWith(`:${result.killedPid}`)).toBe(true);
        expect(attempts.rows[1].ms).toBeLessThan(2 * firstMs + 1500);
      } else expect(states).toEqual(['success']);
    }
    console.log(JSON.stringify({ seed: SEED, first_try_ms: Math.round(firstMs), recovery_ms: recoveries }));
  }, 240_000);
});
