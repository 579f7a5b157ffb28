/**
 * The retry after a kill never hangs (issue 22): kill -9 of the worker at seeded moments of a
 * coercion-heavy load (a trim on every valid row, insert-new merged in segments), each retry
 * planning under the statistics the kill leaves (retry-scenario.ts: target and coercion table read
 * as empty). Each retry finishes within 6× a clean load of the same size plus 15 s (a hang is
 * minutes; a retry on a loaded two-core machine was 4.9× its clean load, 10.6 s vs 2.2 s), and rows,
 * refused rows and coercions equal the generator's truth. The ≥ 900k-row version is bench:retry.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from './harness.ts';
import { killThenAnalyze, loadDay, type RetryLoad } from './retry-scenario.ts';
import { seededRandom } from './seeded-random.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261222);
const KILLS = 3;
const ROWS = 40_000;

describe('retry of a coercion-heavy load after kill -9, under the statistics the kill leaves', () => {
  let c: Cluster;
  let dir: string;
  beforeAll(async () => {
    c = await startCluster({ jobLockMs: 5000 }); // a lease that a starved worker still renews
    c.engine.startSweeper(1000, 1000);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'retry-kill-'));
  });
  afterAll(async () => {
    await c?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it(`${KILLS} kills at seeded moments (seed ${SEED}): each retry within 6× a clean load + 15 s, nothing lost or duplicated`, async () => {
    const random = seededRandom(SEED);
    let worker = await c.spawnWorker();
    const expectCorrect = (load: RetryLoad) => {
      expect(load.state).toBe('success');
      expect({ ...load.account, attempts: undefined }).toEqual({ ...load.want, attempts: undefined });
    };
    const clean = await loadDay(c, dir, ROWS, 0);
    expectCorrect(clean);
    expect(clean.want.coercions).toBeGreaterThan(ROWS * 0.98); // coercion-heavy: every valid row
    // The first load is a cold one (slower, on a loaded machine by up to 2×): kill moments are drawn
    // from the faster of it and a second clean load, so a kill lands inside a load, not after it.
    const warm = await loadDay(c, dir, ROWS, KILLS + 2);
    expectCorrect(warm);
    const quick = Math.min(clean.lastMs, warm.lastMs);
    const retries: Array<{ killAfter: number; ms: number }> = [];
    for (let k = 1; k <= KILLS; k++) {
      const killAfter = 150 + Math.floor(random() * quick * 0.7);
      const load = await loadDay(c, dir, ROWS, k, async () => {
        worker = await killThenAnalyze(c, worker, killAfter);
      }, 90_000);
      expectCorrect(load);
      const states = load.account.attempts.map((a) => a.state);
      // A kill that landed after the commit leaves one attempt.
      expect([['success'], ['lost', 'success']], JSON.stringify(load.account.attempts)).toContainEqual(states);
      if (states.length === 2) retries.push({ killAfter, ms: load.lastMs });
    }
    expect(retries.length).toBeGreaterThan(0);
    // The machine is shared: the bound is taken from the slower of two clean loads, before and after the kills.
    const after = await loadDay(c, dir, ROWS, KILLS + 1);
    expectCorrect(after);
    const cleanMs = Math.max(clean.lastMs, after.lastMs);
    for (const r of retries) expect(r.ms, `retry after a kill at ${r.killAfter} ms vs clean loads of ${clean.lastMs} and ${after.lastMs} ms`).toBeLessThan(6 * cleanMs + 15_000);
  }, 150_000);
});
