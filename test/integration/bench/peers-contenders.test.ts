/**
 * The bounded version of `npm run bench:peers`: every contender runs a short chain, a fan-out and a
 * ping on the test servers, and what it did is counted where it keeps its record — so a contender
 * that stopped doing the work it is timed for (a chain cut short, a fan-out that resolves early,
 * a "committed" floor that commits nothing) fails here instead of printing a fast number.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Jobs, type Contender, type Sizes } from '../../../bench/peers/contender.ts';
import { bullmq, graphileWorker, pgBoss } from '../../../bench/peers/queues.ts';
import { tributary } from '../../../bench/peers/tributary.ts';
import { createTestDatabase, redisUrl, type TestDatabase } from '../../support/db.ts';

const SIZES: Sizes = { hops: 6, fanout: 40, concurrency: 4 };
const databases: TestDatabase[] = [];
const fresh = async () => {
  const database = await createTestDatabase({ migrate: false, max: 2 });
  databases.push(database);
  return database;
};
afterAll(async () => {
  for (const d of databases) await d.drop();
});

/** Runs the bench's three measurements once; the ping's add→start is a positive time. */
async function exercise(contender: Contender): Promise<void> {
  try {
    await contender.chain();
    await contender.fanout();
    const ms = await contender.addToStart();
    expect(ms).toBeGreaterThan(0);
  } finally {
    await contender.close();
  }
}

const count = async (url: string, sql: string) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
};

describe('bench:peers contenders', () => {
  it('a queue peer\'s fan-out resolves only after its last job ran, its chain after its last hop', async () => {
    const jobs = new Jobs();
    let fanDone = false;
    const fan = jobs.expectFan(3).then(() => (fanDone = true));
    for (let i = 0; i < 2; i++) await jobs.run({ kind: 'fan' }, async () => undefined);
    await new Promise((r) => setImmediate(r));
    expect(fanDone).toBe(false);
    await jobs.run({ kind: 'fan' }, async () => undefined);
    await fan;
    const added: number[] = [];
    const chain = jobs.expectChain(4);
    for (let hop = 0; hop < 4; hop++) await jobs.run({ kind: 'hop', hop }, async (next) => added.push(next));
    await chain;
    expect(added).toEqual([1, 2, 3]);
  });


  it('the floor row commits a claim and an end for every job it runs', async () => {
    const database = await fresh();
    await exercise(await bullmq(SIZES, { redisUrl: redisUrl(), commitsTo: database.url }));
    const jobs = SIZES.hops + SIZES.fanout + 1;
    expect(await count(database.url, 'SELECT count(*)::int AS claimed, count(ended_at)::int AS ended FROM peer_attempts')).toEqual({ claimed: jobs, ended: jobs });
  });

  it('graphile-worker and pg-boss complete every job they are given', async () => {
    const graphile = await fresh();
    await exercise(await graphileWorker(graphile.url, SIZES));
    expect(await count(graphile.url, 'SELECT count(*)::int AS left FROM graphile_worker.jobs')).toEqual({ left: 0 });
    const boss = await fresh();
    await exercise(await pgBoss(boss.url, SIZES));
    expect(await count(boss.url, `SELECT count(*) FILTER (WHERE state = 'completed')::int AS completed FROM pgboss.job`)).toEqual({ completed: SIZES.hops + SIZES.fanout + 1 });
  });

  it('Tributary, hand-over on and off, runs every task of the chain and every mapped child', async () => {
    for (const handover of [20, 0]) {
      const database = await fresh();
      await exercise(await tributary(SIZES, 'redis', handover, database.url, redisUrl()));
      const ran = await count(database.url, `SELECT
        count(*) FILTER (WHERE r.dag_id = 'chain' AND ti.state = 'success')::int AS chain,
        count(*) FILTER (WHERE r.dag_id = 'fanout' AND ti.map_index >= 0 AND ti.state = 'success')::int AS children,
        count(*) FILTER (WHERE ti.state <> 'success')::int AS other
        FROM tributary.task_instances ti JOIN tributary.dag_runs r ON r.id = ti.run_id`);
      expect({ handover, ...ran }).toEqual({ handover, chain: SIZES.hops, children: SIZES.fanout, other: 0 });
    }
  });
});
