/**
 * The engine on a real Redis Cluster (three masters on loopback ports, started here): the engine
 * suite's chain, fan-out, sensor and sweeper cases with a hash-tagged QUEUE_PREFIX, every key of
 * the queues in one slot; a prefix without a hash tag, or a cluster behind REDIS_URL without
 * REDIS_CLUSTER=true, is refused with CONFIG_INVALID before anything is queued.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../engine/config.ts';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { createQueueBackend } from '../../../engine/queues.ts';
import { redisUrl, uniquePrefix } from '../../support/db.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { startRedisCluster, type RedisCluster } from '../../support/redis-cluster.ts';

const CHAIN = 6;
const chainTasks = Object.fromEntries(
  Array.from({ length: CHAIN }, (_, i) => [`t${i}`, { kind: 'effect', upstream: i === 0 ? [] : [`t${i - 1}`] }]),
);
const chain = defineDag({ id: 'chain', tasks: chainTasks });

const fanout = defineDag({
  id: 'fanout',
  tasks: {
    list: { kind: 'noop', options: { result: { files: ['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv'] } } },
    each: { kind: 'effect', upstream: ['list'], mapOver: { task: 'list', path: 'files' } },
    report: { kind: 'effect', options: { label: 'report' }, upstream: ['each'] },
  },
});

const sensing = defineDag({ id: 'sensing', tasks: { sensor: { kind: 'poker', options: { times: 3 } } } });

const fail = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
};

describe('engine on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  let t: TestEngine;
  let prefix: string;

  /**
   * A hash-tagged prefix whose slot the first seed node does not serve: a client that ignored the
   * cluster and talked to that node alone would get MOVED, never pass by luck.
   */
  const awayFromFirstNode = async () => {
    const firstNode = (await client.cluster('SLOTS')).filter((range) => range[2][1] === cluster.ports[0]);
    for (;;) {
      const candidate = `{${uniquePrefix('tq')}}`;
      const slot = Number(await client.cluster('KEYSLOT', candidate));
      if (!firstNode.some(([from, to]) => slot >= from && slot <= to)) return candidate;
    }
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    prefix = await awayFromFirstNode();
    // HANDOVER_MAX=0: every try of the chain goes through the cluster's queue.
    t = await startTestEngine({ backend: 'redis', dags: [chain, fanout, sensing], redis: { url: cluster.url, cluster: true }, queuePrefix: prefix, handoverMax: 0 });
  });
  afterAll(async () => {
    await t?.close();
    client?.disconnect();
    await cluster?.stop();
  });

  /** Every key of `match` on every master. */
  const keysOf = async (match: string) =>
    (await Promise.all(client.nodes('master').map((node) => node.keys(match)))).flat();

  const effects = async (runId: number) =>
    (await t.database.pool.query<{ task_id: string; map_index: number }>('SELECT task_id, map_index FROM effects WHERE run_id = $1', [runId])).rows;

  it('runs a chain through the queue: each task once, each after its upstream ended', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('chain'), { date: '2025-03-01' });
    expect(await t.waitForRun(runId)).toBe('success');
    const { rows } = await t.database.pool.query<{ task_id: string; n: number; ordered: boolean }>(
      `SELECT ti.task_id, (SELECT count(*)::int FROM effects e WHERE e.run_id = $1 AND e.task_id = ti.task_id) AS n,
         ti.started_at >= coalesce((SELECT u.ended_at FROM task_instances u WHERE u.run_id = $1 AND u.map_index = -1
           AND u.task_id = 't' || (substr(ti.task_id, 2)::int - 1)), '-infinity') AS ordered
       FROM task_instances ti WHERE ti.run_id = $1 ORDER BY ti.task_id`,
      [runId],
    );
    expect(rows).toEqual(Array.from({ length: CHAIN }, (_, i) => ({ task_id: `t${i}`, n: 1, ordered: true })));
    // Each try was a job on the cluster (no hand-over).
    for (let i = 0; i < CHAIN; i++) expect(await t.engine.backend.queue('effect').getJob(`r${runId}-t${i}-m-1-t1`)).toBeTruthy();
  });

  it('maps over an upstream list: each child once in effect, results gathered in order', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('fanout'), { date: '2025-03-01' });
    expect(await t.waitForRun(runId)).toBe('success');
    const children = (await effects(runId)).filter((e) => e.task_id === 'each').map((e) => e.map_index).sort();
    expect(children).toEqual([0, 1, 2, 3, 4]);
    const { rows } = await t.database.pool.query(
      `SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = -1`,
      [runId],
    );
    expect(rows[0].result.map((r: { item: string }) => r.item)).toEqual(['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv']);
    expect((await effects(runId)).filter((e) => e.task_id === 'report')).toHaveLength(1);
  });

  it('a sensor re-schedules itself as a delayed job until satisfied, then succeeds', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('sensing'), { date: '2025-03-01' });
    expect(await t.waitForRun(runId)).toBe('success');
    const { rows } = await t.database.pool.query(`SELECT state, result, pokes FROM task_instances WHERE run_id = $1`, [runId]);
    expect(rows).toEqual([{ state: 'success', result: { pokes: 3 }, pokes: 3 }]);
  });

  it('the sweeper re-enqueues a queued task whose job was lost; the health probe counts jobs', async () => {
    const paused = await startTestEngine({ backend: 'redis', dags: [fanout], workers: false, redis: { url: cluster.url, cluster: true }, queuePrefix: await awayFromFirstNode() });
    try {
      const { runId } = await triggerRun(paused.engine.pool, paused.engine.dispatcher, paused.engine.dag('fanout'), { date: '2025-06-01' });
      expect(await paused.engine.backend.queue('noop').getJobCounts('waiting')).toEqual({ waiting: 1 });
      await paused.engine.backend.queue('noop').obliterate({ force: true }); // as if Redis had been wiped
      expect(await paused.engine.dispatcher.sweep(0)).toBe(1);
      paused.engine.startWorkers({ concurrency: () => 2, lockDurationMs: 5_000 });
      expect(await paused.waitForRun(runId)).toBe('success');
    } finally {
      await paused.close();
    }
  });

  it('keeps every key of the queues in one slot, on a cluster of at least 3 masters', async () => {
    expect(client.nodes('master').length).toBeGreaterThanOrEqual(3);
    const keys = await keysOf(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(10);
    const slots = new Set(await Promise.all(keys.map((key) => client.cluster('KEYSLOT', key))));
    expect([...slots]).toEqual([await client.cluster('KEYSLOT', prefix)]);
  });

  it('refuses a prefix without a hash tag, and a cluster behind REDIS_URL without REDIS_CLUSTER, before anything is queued', async () => {
    const untagged = uniquePrefix('tq');
    const refused = fail(() => createQueueBackend({ kind: 'redis', redisUrl: cluster.url, cluster: true, prefix: untagged }));
    expect(refused.code).toBe('CONFIG_INVALID');
    expect(refused.message).toContain('QUEUE_PREFIX={tributary}');
    const fromEnv = fail(() => loadConfig({ REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', QUEUE_PREFIX: untagged }));
    expect(fromEnv.code).toBe('CONFIG_INVALID');
    expect(fromEnv.message).toContain('QUEUE_PREFIX: must contain a hash tag');
    expect(loadConfig({ REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{tributary}' }).REDIS_CLUSTER).toBe(true);

    const plain = createQueueBackend({ kind: 'redis', redisUrl: `redis://127.0.0.1:${cluster.ports[0]}`, prefix: untagged });
    await expect(plain.verify()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('set REDIS_CLUSTER=true') });
    await plain.close();
    expect(await keysOf(`${untagged}*`)).toEqual([]);
  });

  it('refuses REDIS_CLUSTER=true on a Redis without cluster mode', async () => {
    const backend = createQueueBackend({ kind: 'redis', redisUrl: redisUrl(), cluster: true, prefix });
    await expect(backend.verify()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('without cluster mode') });
    await backend.close();
    const single = new Redis(redisUrl());
    expect(await single.keys(`${prefix}*`)).toEqual([]);
    single.disconnect();
  });
});
