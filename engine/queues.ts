/**
 * Queue backends. `redis` runs BullMQ on ioredis; `postgres` runs BullMQ 6's own PostgreSQL
 * backend (schema = the queue prefix) on the database of record, so the embedded default
 * needs no Redis. Everything above this file sees only BullMQ's Queue and Worker.
 */
import { createRequire } from 'node:module';
import type { IQueueBackend, Job, Queue, Worker, WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';

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
  redisUrl?: string;
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
  close(): Promise<void>;
}

export function createQueueBackend(options: BackendOptions): QueueBackend {
  const queues = new Map<string, TaskQueue>();
  const workers: TaskWorker[] = [];
  let redis: Redis | undefined;
  const redisConnection = () => {
    if (!options.redisUrl) throw new Error('REDIS_URL is required for the redis queue backend');
    redis ??= new (ioredis().Redis)(options.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
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
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      redis?.disconnect();
    },
  };
}
