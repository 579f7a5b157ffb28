// TEMPORARY probe (helper 8): a failing test with a crashed Postgres, a running scheduler and a worker must still clean up.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnScheduler, startCluster, type Cluster } from './harness.ts';

let c: Cluster;
beforeAll(async () => {
  c = await startCluster();
});
afterAll(async () => {
  const t = Date.now();
  await c?.close();
  console.log(`close took ${Date.now() - t} ms`);
});

it('fails on purpose after crashing Postgres mid-run', async () => {
  await c.spawnWorker();
  await spawnScheduler(c);
  await c.pg.crash();
  expect('deliberate failure').toBe('ok');
}, 60_000);
