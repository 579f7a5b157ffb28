/**
 * Schedulers racing and dying: two `trib scheduler` processes catching up the same hourly DAG at
 * once, one of them killed -9 at a seeded moment, a third started after — the runs are exactly the
 * scheduled hours since the start date (computed here with plain date arithmetic, not with the
 * engine's cron code): no hour missing, none off-schedule, none twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnScheduler, startCluster, waitFor, type Cluster } from './harness.ts';

const HOUR = 3_600_000;
const DAYS = 20;
const SEED = Number(process.env.CHAOS_SEED ?? 20261201);

describe('schedulers racing on catch-up', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => {
    await c?.close();
  });

  it(`creates exactly the missed hours, each once, whatever dies (seed ${SEED})`, async () => {
    const start = new Date(Math.floor(Date.now() / HOUR) * HOUR - DAYS * 24 * HOUR);
    const dag = `export default defineDag({ id: 'hourly', schedule: { cron: '0 * * * *' }, catchup: true, pausedAtCreation: false, maxActiveRuns: 1,
      startDate: '${start.toISOString()}', tasks: { t: { kind: 'noop' } } });`;
    // One scheduler is killed at a seeded moment of its start-up (often inside its catch-up
    // transaction), while another catches up beside it.
    const killAfterMs = 300 + (SEED % 1500);
    const a = await spawnScheduler(c, dag, { waitReady: false });
    const b = spawnScheduler(c, dag);
    await new Promise((r) => setTimeout(r, killAfterMs));
    a.child.kill('SIGKILL');
    const third = await spawnScheduler(c, dag);
    // A run is due at its tick (its logical date; the data interval is [tick, tick + 1 h)):
    // every whole hour from the start date up to now.
    const expected = () => {
      const out: string[] = [];
      for (let t = start.getTime(); t <= Date.now(); t += HOUR) out.push(new Date(t).toISOString());
      return out;
    };
    const dates = async () => (await c.database.pool.query<{ d: Date }>(
      `SELECT logical_date AS d FROM dag_runs WHERE dag_id = 'hourly' ORDER BY logical_date`)).rows.map((r) => r.d.toISOString());
    await waitFor(async () => (await dates()).length >= expected().length, 60_000, 'the catch-up');
    expect(await dates()).toEqual(expected());
    expect(expected().length).toBeGreaterThanOrEqual(DAYS * 24);
    for (const s of [await b, third]) s.child.kill('SIGTERM');
  }, 120_000);
});
