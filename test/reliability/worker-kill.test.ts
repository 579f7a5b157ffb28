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
import { startCluster, type Cluster } from './harness.ts';
import { writeItemsFile } from './items-file.ts';
import { accountLoad, expectedAccount, killAndReplace, waitForRunState, waitForTaskRunning } from './scenarios.ts';
import { seededRandom } from './seeded-random.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261201);
const KILLS = 3;
const ROWS = 150_000;

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

  /** Truncates the table, starts the day's load, calls `during` once it runs, waits for the end. */
  async function loadDay(day: number, during: (runId: number) => Promise<void>) {
    const file = path.join(dir, `items_${day}.csv`);
    const truth = await writeItemsFile(file, ROWS + day);
    await c.database.pool.query('TRUNCATE chaos_items').catch(() => undefined); // created by the first load
    const dag = c.engine.dags.get('chaos_load')!;
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, dag, { date: `2025-06-${String(day).padStart(2, '0')}`, params: { file } });
    await waitForTaskRunning(c, runId, 'load');
    await during(runId);
    expect(await waitForRunState(c, runId, 90_000)).toBe('success');
    const account = await accountLoad(c, runId);
    expect({ ...account, attempts: undefined }).toEqual({ ...expectedAccount(truth), attempts: undefined });
    return account;
  }

  it(`survives ${KILLS} kills at seeded points (seed ${SEED}): nothing lost, nothing duplicated, every attempt on the record`, async () => {
    const random = seededRandom(SEED);
    let worker = await c.spawnWorker();
    const first = await loadDay(1, async () => undefined); // measures the first try
    const firstMs = first.attempts[0].ms;
    for (let k = 0; k < KILLS; k++) {
      let killed = 0;
      const account = await loadDay(k + 2, async () => {
        await new Promise((r) => setTimeout(r, 150 + Math.floor(random() * firstMs * 0.8)));
        killed = worker.pid as number;
        worker = await killAndReplace(c, worker);
      });
      const states = account.attempts.map((a) => a.state);
      if (states.length === 1) expect(states).toEqual(['success']); // the kill landed after the commit
      else {
        expect(states).toEqual(['lost', 'success']);
        expect(account.attempts[0].worker.endsWith(`:${killed}`)).toBe(true);
        expect(account.attempts[1].ms).toBeLessThan(2 * firstMs + 1500);
      }
    }
  }, 240_000);
});
