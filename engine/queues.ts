/**
 * Queue backends. `redis` runs BullMQ on ioredis — one server, or a Redis Cluster (`cluster`)
 * through ioredis' Cluster client; `postgres` runs BullMQ 6's own PostgreSQL backend (schema =
 * the queue prefix) on the database of record, so the embedded default needs no Redis.
 * Everything above this file sees only BullMQ's Queue and Worker.
 */
import { createRequire } from 'node:module';
import type { IQueueBackend, Job, Queue, Worker, WorkerOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { TributaryError } from './errors.ts';

/**
 * BullMQ and ioredis load on the first queue or worker made, not at import: a command that only
 * reads Postgres (`trib runs`, `trib run show`) never pays their ~300 ms start. Both ship CommonJS.
 */
const load = createRequire(import.meta.url);
const bullmq = () => load('bullmq') as typeof import('bullmq');
const ioredis = () => load('ioredis') as typeof import('ioredis');

/** What a task job carries: just the address of the try; everything else is in Postgres. */
export interface TaskJobData {
  taskInstanceId: number;
  tryNumber: number;
}

export type TaskQueue = Queue<TaskJobData, unknown, string, TaskJobData, unknown, string, IQueueBackend, unknown>;
export type TaskWorker = Worker<TaskJobData, unknown, string, IQueueBackend>;
export type TaskProcessor = (job: Job<TaskJobData>) => Promise<unknown>;

export interface BackendOptions {
  kind: 'redis' | 'postgres';
  /** One Redis URL; with `cluster`, a comma list of seed nodes (`redis://a:7000,redis://b:7001`) or one. */
  redisUrl?: string;
  /** REDIS_URL is a Redis Cluster (REDIS_CLUSTER): `prefix` must carry a hash tag. @default false */
  cluster?: boolean;
  databaseUrl?: string;
  /** Redis key prefix or Postgres schema. */
  prefix: string;
}

export interface WorkerSettings {
  concurrency: number;
  lockDuration: number;
}

export interface QueueBackend {
  kind: 'redis' | 'postgres';
  queue(name: string): TaskQueue;
  worker(name: string, processor: TaskProcessor, settings: WorkerSettings): TaskWorker;
  /** Redis only: asks the server (`INFO cluster`) whether it is the kind REDIS_CLUSTER says; CONFIG_INVALID if not. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Redis Cluster runs a multi-key command (every BullMQ script) only when all its keys hash to one
 * slot; a key's slot is that of its first non-empty `{…}`, so a prefix like `{tributary}` keeps
 * every key of every queue together.
 */
export function hasHashTag(prefix: string): boolean {
  return /^[^{]*\{[^}]+\}/.test(prefix);
}

export const HASH_TAG_MESSAGE = 'must contain a hash tag on a Redis Cluster, like QUEUE_PREFIX={tributary} (every key of a queue must hash to one slot)';

/** `redis://a:7000,redis://b:7001` → the seed nodes and the options they share (credentials, TLS). */
function clusterSeeds(urls: string) {
  const nodes = urls.split(',').map((url) => new URL(url.trim()));
  const first = nodes[0];
  const auth = { username: decodeURIComponent(first.username) || undefined, password: decodeURIComponent(first.password) || undefined };
  return {
    nodes: nodes.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    redisOptions: { ...auth, ...(first.protocol === 'rediss:' ? { tls: {} } : {}) },
  };
}

export function createQueueBackend(options: BackendOptions): QueueBackend {
  if (options.kind === 'redis' && options.cluster && !hasHashTag(options.prefix)) {
    throw new TributaryError('CONFIG_INVALID', `invalid configuration — QUEUE_PREFIX: ${HASH_TAG_MESSAGE} (got ${JSON.stringify(options.prefix)})`);
  }
  const queues = new Map<string, TaskQueue>();
  const workers: TaskWorker[] = [];
  let redis: Redis | Cluster | undefined;
  const redisUrl = () => {
    if (!options.redisUrl) throw new Error('REDIS_URL is required for the redis queue backend');
    return options.redisUrl;
  };
  const redisConnection = () => {
    if (redis) return redis;
    if (options.cluster) {
      const { nodes, redisOptions } = clusterSeeds(redisUrl());
      // BullMQ's blocking worker connections need maxRetriesPerRequest: null on every node's client.
      redis = new (ioredis().Cluster)(nodes, { redisOptions: { ...redisOptions, maxRetriesPerRequest: null, enableReadyCheck: true } });
    } else {
      redis = new (ioredis().Redis)(redisUrl(), { maxRetriesPerRequest: null, enableReadyCheck: true });
    }
    return redis;
  };
  const pgConnection = (max: number) => {
    if (!options.databaseUrl) throw new Error('DATABASE_URL is required for the postgres queue backend');
    return { connectionString: options.databaseUrl, schema: options.prefix, migrate: true, max };
  };

  return {
    kind: options.kind,
    queue(name) {
      let queue = queues.get(name);
      if (!queue) {
        const { Queue: QueueClass, createPostgresBackend } = bullmq();
        queue =
          options.kind === 'redis'
            ? (new QueueClass(name, { connection: redisConnection(), prefix: options.prefix }) as unknown as TaskQueue)
            : (new QueueClass(name, { connection: pgConnection(4) }, createPostgresBackend) as unknown as TaskQueue);
        queue.on('error', () => undefined); // connection hiccups surface on the next call instead
        queues.set(name, queue);
      }
      return queue;
    },
    worker(name, processor, settings) {
      const common: Omit<WorkerOptions, 'connection'> = {
        concurrency: settings.concurrency,
        lockDuration: settings.lockDuration,
        stalledInterval: Math.max(1000, Math.floor(settings.lockDuration / 2)),
        maxStalledCount: 3,
      };
      const { Worker: WorkerClass, createPostgresBackend } = bullmq();
      const worker =
        options.kind === 'redis'
          ? (new WorkerClass(name, processor, { ...common, connection: redisConnection(), prefix: options.prefix }) as unknown as TaskWorker)
          : (new WorkerClass(name, processor, { ...common, connection: pgConnection(settings.concurrency + 2) }, createPostgresBackend) as unknown as TaskWorker);
      worker.on('error', () => undefined);
      workers.push(worker);
      return worker;
    },
    async verify() {
      if (options.kind !== 'redis') return;
      const seed = redisUrl().split(',')[0].trim();
      const probe = new (ioredis().Redis)(seed, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null });
      probe.on('error', () => undefined);
      // Unreachable: nothing to compare; the queue operations report the outage as they do after a start.
      const info = await probe.connect().then(() => probe.info('cluster'), () => undefined).finally(() => probe.disconnect());
      if (info === undefined) return;
      const isCluster = /^cluster_enabled:1\b/m.test(info);
      if (isCluster && !options.cluster) {
        throw new TributaryError('CONFIG_INVALID', 'invalid configuration — REDIS_CLUSTER: REDIS_URL points at a Redis Cluster node (INFO cluster: cluster_enabled:1); set REDIS_CLUSTER=true and a hash-tagged QUEUE_PREFIX such as {tributary}');
      }
      if (!isCluster && options.cluster) {
        throw new TributaryError('CONFIG_INVALID', 'invalid configuration — REDIS_CLUSTER: is true but REDIS_URL points at a Redis without cluster mode (INFO cluster: cluster_enabled:0); unset REDIS_CLUSTER');
      }
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      redis?.disconnect();
    },
  };
}
