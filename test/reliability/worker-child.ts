/** A worker process for the crash test: consumes the crash DAG's queues until killed. */
import { pino } from 'pino';
import { compileDag } from '../../engine/dag.ts';
import { Engine } from '../../engine/engine.ts';
import type { JobKind } from '../../engine/types.ts';
import { builtinKinds } from '../../jobs/index.ts';
import { crashDag, slowEffect } from './crash-dag.ts';

const kinds = builtinKinds();
kinds.set(slowEffect.name, slowEffect as JobKind);
const dags = new Map([[crashDag.id, compileDag(crashDag, 'test/reliability/crash-dag.ts', kinds)]]);
const engine = new Engine({
  databaseUrl: String(process.env.DATABASE_URL),
  queueBackend: process.env.QUEUE_BACKEND === 'postgres' ? 'postgres' : 'redis',
  redisUrl: process.env.REDIS_URL,
  queuePrefix: String(process.env.QUEUE_PREFIX),
  dags,
  kinds,
  log: pino({ level: 'silent' }),
});
engine.startWorkers({ concurrency: () => 1, lockDurationMs: Number(process.env.JOB_LOCK_MS ?? 2000) });
console.log('worker ready');
process.on('SIGTERM', () => void engine.close().then(() => process.exit(0)));
