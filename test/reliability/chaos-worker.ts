/**
 * A worker process for the chaos suite: consumes the chaos DAGs' queues until killed, or until
 * SIGTERM (then it finishes its running tries and exits 0). Prints `worker ready` once started.
 * Env: DATABASE_URL, QUEUE_BACKEND, REDIS_URL, QUEUE_PREFIX, JOB_LOCK_MS, CONCURRENCY, WORKER_LOST_LIMIT, RECORD_WAIT_MS.
 */
import os from 'node:os';
import { pino } from 'pino';
import { compileDag } from '../../engine/dag.ts';
import { Engine } from '../../engine/engine.ts';
import { builtinKinds } from '../../jobs/index.ts';
import { chaosDags, chaosKinds } from './chaos-dags.ts';

const kinds = builtinKinds();
for (const kind of chaosKinds) kinds.set(kind.name, kind);
const dags = new Map(chaosDags.map((spec) => [spec.id, compileDag(spec, 'test/reliability/chaos-dags.ts', kinds)]));
const engine = new Engine({
  databaseUrl: String(process.env.DATABASE_URL),
  queueBackend: process.env.QUEUE_BACKEND === 'postgres' ? 'postgres' : 'redis',
  redisUrl: process.env.REDIS_URL,
  queuePrefix: String(process.env.QUEUE_PREFIX),
  dags,
  kinds,
  log: pino({ level: process.env.WORKER_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  recordWaitMs: Number(process.env.RECORD_WAIT_MS ?? 60_000),
  workerLostLimit: Number(process.env.WORKER_LOST_LIMIT ?? 2),
  dataRoots: [os.tmpdir()],
});
const concurrency = Number(process.env.CONCURRENCY ?? 1);
engine.startWorkers({ concurrency: () => concurrency, lockDurationMs: Number(process.env.JOB_LOCK_MS ?? 2000) });
console.log('worker ready');
process.on('SIGTERM', () => void engine.close().then(() => process.exit(0)));
