/**
 * bench:engine — engine overhead against raw BullMQ, on both queue backends, same services, same
 * process: a 200-task linear chain of noop tasks (ms per hop) and one run mapping 1,000 noop
 * tasks (tasks/s), best of 3 rounds, each round running the raw baseline and Tributary back to
 * back; then the chain again with HANDOVER_MAX=0 (every try through the queue). The third row,
 * always run, is a local Redis Cluster (three masters, test/support/redis-cluster.ts): Tributary
 * with REDIS_CLUSTER and prefix `{bench_cluster_…}` against raw BullMQ on the same cluster.
 * `pg_round_trips_per_hop` counts every query the engine's own pool sent during the best chain
 * round (a query hook on its clients), divided by the hops, and `pg_wait_ms_per_hop` the time the
 * engine waited on them. Progress goes to stderr; the last stdout line is one JSON array.
 */
import { Queue, Worker, createPostgresBackend, type Job } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { runMigrations } from '../db/migrate.ts';
import { connect } from '../db/client.ts';
import { compileDag, defineDag } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { triggerRun } from '../engine/operations.ts';
import type { TaskSpec } from '../engine/types.ts';
import { builtinKinds } from '../jobs/index.ts';
import { startRedisCluster } from '../test/support/redis-cluster.ts';
import { freshDatabase, startServices } from '../test/support/services.ts';

const CHAIN = 200;
const FANOUT = 1000;
const CONCURRENCY = 8;
const ROUNDS = 3;

const chainTasks: Record<string, TaskSpec> = {};
for (let i = 0; i < CHAIN; i++) chainTasks[`t${i}`] = { kind: 'noop', upstream: i === 0 ? [] : [`t${i - 1}`] };
const chainDag = defineDag({ id: 'chain', tasks: chainTasks });
const fanoutDag = defineDag({
  id: 'fanout',
  tasks: {
    list: { kind: 'noop', options: { result: Array.from({ length: FANOUT }, (_, i) => i) } },
    each: { kind: 'noop', upstream: ['list'], mapOver: { task: 'list' } },
  },
});

type Backend = 'redis' | 'postgres' | 'redis-cluster';

/**
 * Counts the queries sent by the clients of one pool (BullMQ's own Postgres pool is not counted)
 * and the time the engine waited on them (send to reply: the round trip and the server's work).
 */
function countQueries(pool: pg.Pool): { count: number; waitMs: number } {
  const counter = { count: 0, waitMs: 0 };
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      counter.count++;
      const sent = performance.now();
      const reply = query(...args) as Promise<unknown> | undefined;
      const done = () => void (counter.waitMs += performance.now() - sent);
      reply?.then?.(done, done);
      return reply;
    };
  });
  return counter;
}

/** Each run gets its own logical date: a second engine on the same database must not find the first's runs. */
let day = 0;

/** Tributary on one backend; `handoverMax` 0 sends every try through the queue. */
async function ours(backend: Backend, databaseUrl: string, redisUrl: string | undefined, handoverMax: number) {
  const kinds = builtinKinds();
  const dags = new Map([chainDag, fanoutDag].map((d) => [d.id, compileDag(d, `bench/${d.id}`, kinds)]));
  const database = connect(databaseUrl);
  await runMigrations(database);
  await database.close();
  const engine = new Engine({
    databaseUrl, queueBackend: backend === 'postgres' ? 'postgres' : 'redis', redisUrl, redisCluster: backend === 'redis-cluster',
    // On a cluster every key of a queue must hash to one slot: the `{…}` hash tag.
    queuePrefix: backend === 'redis-cluster' ? `{bench_cluster_h${handoverMax}}` : `bench_${backend}_h${handoverMax}`, dags, kinds,
    log: pino({ level: 'silent' }), poolSize: 20, handoverMax,
  });
  const queries = countQueries(engine.pool);
  const watcher = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  await engine.register();
  engine.startWorkers({ concurrency: () => CONCURRENCY });
  const timeRun = async (dagId: string) => {
    day++;
    const date = new Date(Date.UTC(2025, 0, day)).toISOString().slice(0, 10);
    const sent = queries.count;
    const waited = queries.waitMs;
    const started = performance.now();
    const { runId } = await triggerRun(engine.pool, engine.dispatcher, engine.dag(dagId), { date: date });
    for (;;) {
      const { rows } = await watcher.query('SELECT state FROM tributary.dag_runs WHERE id = $1', [runId]);
      if (rows[0].state === 'success') return { ms: performance.now() - started, queries: queries.count - sent, pgWaitMs: queries.waitMs - waited };
      if (rows[0].state === 'failed') throw new Error(`${dagId} run failed`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  await timeRun('chain'); // warm-up
  await timeRun('fanout');
  return {
    chain: async () => {
      const run = await timeRun('chain');
      return { ms: run.ms, roundTripsPerHop: run.queries / CHAIN, pgWaitMsPerHop: run.pgWaitMs / CHAIN };
    },
    fanout: async () => (await timeRun('fanout')).ms,
    close: async () => {
      await engine.close();
      await watcher.end();
    },
  };
}

async function raw(backend: Backend, databaseUrl: string, redisUrl?: string) {
  const redis = backend === 'redis' ? new Redis(String(redisUrl), { maxRetriesPerRequest: null })
    : backend === 'redis-cluster' ? new Cluster(clusterNodes(String(redisUrl)), { redisOptions: { maxRetriesPerRequest: null } }) : undefined;
  const prefix = backend === 'redis-cluster' ? '{raw}' : 'raw';
  const pgConnection = { connectionString: databaseUrl, schema: 'bullmq_raw', migrate: true };
  const queue = (name: string) =>
    redis ? new Queue(name, { connection: redis, prefix }) : new Queue(name, { connection: pgConnection }, createPostgresBackend);
  const worker = (name: string, fn: (job: Job) => Promise<void>) =>
    redis
      ? new Worker(name, fn, { connection: redis, prefix, concurrency: CONCURRENCY })
      : new Worker(name, fn, { connection: pgConnection, concurrency: CONCURRENCY }, createPostgresBackend);

  // Chain: each job enqueues the next.
  const chainQueue = queue('raw_chain');
  let chainDone: () => void = () => undefined;
  const chainWorker = worker('raw_chain', async (job) => {
    const hop = job.data.hop as number;
    if (hop + 1 < CHAIN) await chainQueue.add('hop', { hop: hop + 1 });
    else chainDone();
  });
  // Fan-out: 1,000 jobs added in bulk.
  const fanQueue = queue('raw_fanout');
  let count = 0;
  let fanDone: () => void = () => undefined;
  const fanWorker = worker('raw_fanout', async () => {
    if (++count % FANOUT === 0) fanDone();
  });
  const chain = async () => {
    const finished = new Promise<void>((r) => (chainDone = r));
    const t0 = performance.now();
    await chainQueue.add('hop', { hop: 0 });
    await finished;
    return performance.now() - t0;
  };
  const fanout = async () => {
    const finished = new Promise<void>((r) => (fanDone = r));
    const t0 = performance.now();
    await fanQueue.addBulk(Array.from({ length: FANOUT }, (_, i) => ({ name: 'j', data: { i } })));
    await finished;
    return performance.now() - t0;
  };
  await chain(); // warm-up
  await fanout();
  return {
    chain,
    fanout,
    close: async () => {
      await Promise.all([chainWorker.close(), fanWorker.close()]);
      await Promise.all([chainQueue.close(), fanQueue.close()]);
      redis?.disconnect();
    },
  };
}

const round = (n: number, d = 2) => Number(n.toFixed(d));

/** `redis://127.0.0.1:p1,redis://127.0.0.1:p2` → ioredis Cluster seed nodes. */
const clusterNodes = (urls: string) => urls.split(',').map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) }));

async function main() {
  const services = await startServices({ redis: true });
  const cluster = await startRedisCluster();
  const results = [];
  try {
    for (const backend of ['redis', 'postgres', 'redis-cluster'] as const) {
      const url = await freshDatabase(services.databaseUrl, `bench_engine_${backend.replace('-', '_')}`);
      const redisUrl = backend === 'redis-cluster' ? cluster.url : services.redisUrl;
      const r = await raw(backend, url, redisUrl);
      const o = await ours(backend, url, redisUrl, 20);
      const best = { chain: Infinity, rawChain: Infinity, fanout: Infinity, rawFanout: Infinity, roundTrips: 0, pgWait: 0 };
      for (let i = 1; i <= ROUNDS; i++) {
        console.error(`[bench:engine] ${backend}: round ${i} of ${ROUNDS}…`);
        best.rawChain = Math.min(best.rawChain, await r.chain());
        const chain = await o.chain();
        if (chain.ms < best.chain) Object.assign(best, { chain: chain.ms, roundTrips: chain.roundTripsPerHop, pgWait: chain.pgWaitMsPerHop });
        best.rawFanout = Math.min(best.rawFanout, await r.fanout());
        best.fanout = Math.min(best.fanout, await o.fanout());
      }
      await o.close();
      // The same chain with every try through the queue (HANDOVER_MAX=0), against the same baseline.
      const q = await ours(backend, url, redisUrl, 0);
      let queueOnly = Infinity;
      let rawAgain = Infinity;
      for (let i = 1; i <= ROUNDS; i++) {
        console.error(`[bench:engine] ${backend}: without hand-over, round ${i} of ${ROUNDS}…`);
        rawAgain = Math.min(rawAgain, await r.chain());
        queueOnly = Math.min(queueOnly, (await q.chain()).ms);
      }
      await q.close();
      await r.close();
      const perHop = (ms: number) => ms / CHAIN;
      const perSecond = (ms: number) => FANOUT / (ms / 1000);
      const row = {
        backend,
        chain_ms_per_hop: round(perHop(best.chain)),
        raw_chain_ms_per_hop: round(perHop(best.rawChain)),
        chain_ratio: round(best.chain / best.rawChain),
        // HANDOVER_MAX=0: every try through the queue (three round trips per hop).
        chain_ms_per_hop_without_handover: round(perHop(queueOnly)),
        chain_ratio_without_handover: round(queueOnly / rawAgain),
        fanout_tasks_per_s: round(perSecond(best.fanout), 0),
        raw_fanout_jobs_per_s: round(perSecond(best.rawFanout), 0),
        fanout_ratio: round(best.rawFanout / best.fanout),
        pg_round_trips_per_hop: round(best.roundTrips),
        // Of chain_ms_per_hop: waiting on Postgres (round trips + the engine functions' work), the rest is the queue and Node.
        pg_wait_ms_per_hop: round(best.pgWait),
        concurrency: CONCURRENCY,
        rounds: ROUNDS,
      };
      console.error(JSON.stringify(row));
      results.push(row);
    }
  } finally {
    await cluster.stop();
    await services.stop();
  }
  console.log(JSON.stringify(results));
}

await main();
