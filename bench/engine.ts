/**
 * bench:engine — engine overhead against raw BullMQ, on both queue backends, same services, same
 * process: a 200-task linear chain of noop tasks (ms per hop) and one run mapping 1,000 noop
 * tasks (tasks/s). Progress goes to stderr; the last stdout line is one JSON array.
 */
import { Queue, Worker, createPostgresBackend, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { runMigrations } from '../db/migrate.ts';
import { connect } from '../db/client.ts';
import { compileDag, defineDag } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { triggerRun } from '../engine/operations.ts';
import type { TaskSpec } from '../engine/types.ts';
import { builtinKinds } from '../jobs/index.ts';
import { freshDatabase, startServices } from '../test/support/services.ts';

const CHAIN = 200;
const FANOUT = 1000;
const CONCURRENCY = 8;

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

type Backend = 'redis' | 'postgres';

async function timeRun(engine: Engine, dagId: string, day: string): Promise<number> {
  const started = performance.now();
  const { runId } = await triggerRun(engine.pool, engine.dispatcher, engine.dag(dagId), { day });
  for (;;) {
    const { rows } = await engine.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId]);
    if (rows[0].state === 'success') return performance.now() - started;
    if (rows[0].state === 'failed') throw new Error(`${dagId} run failed`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function ours(backend: Backend, databaseUrl: string, redisUrl?: string) {
  const kinds = builtinKinds();
  const dags = new Map([chainDag, fanoutDag].map((d) => [d.id, compileDag(d, `bench/${d.id}`, kinds)]));
  const database = connect(databaseUrl);
  await runMigrations(database);
  await database.close();
  const engine = new Engine({
    databaseUrl, queueBackend: backend, redisUrl, queuePrefix: `bench_${backend}`, dags, kinds,
    log: pino({ level: 'silent' }), poolSize: 20,
  });
  await engine.register();
  engine.startWorkers({ concurrency: () => CONCURRENCY });
  await timeRun(engine, 'chain', '2025-01-01'); // warm-up
  const chainMs = await timeRun(engine, 'chain', '2025-01-02');
  await timeRun(engine, 'fanout', '2025-01-01');
  const fanoutMs = await timeRun(engine, 'fanout', '2025-01-02');
  await engine.close();
  return { chain_ms_per_hop: chainMs / CHAIN, fanout_tasks_per_s: FANOUT / (fanoutMs / 1000) };
}

async function raw(backend: Backend, databaseUrl: string, redisUrl?: string) {
  const redis = backend === 'redis' ? new Redis(String(redisUrl), { maxRetriesPerRequest: null }) : undefined;
  const make = (name: string) =>
    backend === 'redis'
      ? { queue: new Queue(name, { connection: redis!, prefix: 'raw' }), opts: { connection: redis!, prefix: 'raw' } }
      : {
          queue: new Queue(name, { connection: { connectionString: databaseUrl, schema: 'bullmq_raw', migrate: true } }, createPostgresBackend),
          opts: { connection: { connectionString: databaseUrl, schema: 'bullmq_raw', migrate: true } },
        };

  // Chain: each job enqueues the next.
  const chain = make('raw_chain');
  let done: () => void = () => undefined;
  const chainWorker = backend === 'redis'
    ? new Worker('raw_chain', processChain, { ...(chain.opts as { connection: Redis; prefix: string }), concurrency: CONCURRENCY })
    : new Worker('raw_chain', processChain, { connection: { connectionString: databaseUrl, schema: 'bullmq_raw', migrate: true }, concurrency: CONCURRENCY }, createPostgresBackend);
  async function processChain(job: Job) {
    const hop = job.data.hop as number;
    if (hop + 1 < CHAIN) await chain.queue.add('hop', { hop: hop + 1, round: job.data.round });
    else done();
  }
  const runChain = async (round: number) => {
    const finished = new Promise<void>((r) => (done = r));
    const t0 = performance.now();
    await chain.queue.add('hop', { hop: 0, round });
    await finished;
    return performance.now() - t0;
  };
  await runChain(0);
  const chainMs = await runChain(1);
  await chainWorker.close();

  // Fan-out: 1,000 jobs added in bulk.
  const fan = make('raw_fanout');
  let count = 0;
  let allDone: () => void = () => undefined;
  const onJob = async () => {
    if (++count % FANOUT === 0) allDone();
  };
  const fanWorker = backend === 'redis'
    ? new Worker('raw_fanout', onJob, { ...(fan.opts as { connection: Redis; prefix: string }), concurrency: CONCURRENCY })
    : new Worker('raw_fanout', onJob, { connection: { connectionString: databaseUrl, schema: 'bullmq_raw', migrate: true }, concurrency: CONCURRENCY }, createPostgresBackend);
  const runFan = async () => {
    const finished = new Promise<void>((r) => (allDone = r));
    const t0 = performance.now();
    await fan.queue.addBulk(Array.from({ length: FANOUT }, (_, i) => ({ name: 'j', data: { i } })));
    await finished;
    return performance.now() - t0;
  };
  await runFan();
  const fanMs = await runFan();
  await fanWorker.close();
  await chain.queue.close();
  await fan.queue.close();
  redis?.disconnect();
  return { raw_chain_ms_per_hop: chainMs / CHAIN, raw_fanout_jobs_per_s: FANOUT / (fanMs / 1000) };
}

const round = (n: number, d = 2) => Number(n.toFixed(d));

async function main() {
  const services = await startServices({ redis: true });
  const results = [];
  try {
    for (const backend of ['redis', 'postgres'] as const) {
      const url = await freshDatabase(services.databaseUrl, `bench_engine_${backend}`);
      console.error(`[bench:engine] ${backend}: raw BullMQ baseline…`);
      const r = await raw(backend, url, services.redisUrl);
      console.error(`[bench:engine] ${backend}: Tributary…`);
      const o = await ours(backend, url, services.redisUrl);
      const row = {
        backend,
        chain_ms_per_hop: round(o.chain_ms_per_hop),
        raw_chain_ms_per_hop: round(r.raw_chain_ms_per_hop),
        chain_ratio: round(o.chain_ms_per_hop / r.raw_chain_ms_per_hop),
        fanout_tasks_per_s: round(o.fanout_tasks_per_s, 0),
        raw_fanout_jobs_per_s: round(r.raw_fanout_jobs_per_s, 0),
        fanout_ratio: round(o.fanout_tasks_per_s / r.raw_fanout_jobs_per_s),
        concurrency: CONCURRENCY,
      };
      console.error(JSON.stringify(row));
      results.push(row);
    }
  } finally {
    await services.stop();
  }
  console.log(JSON.stringify(results));
}

await main();
