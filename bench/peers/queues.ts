/**
 * The job queues bench:peers compares Tributary with, each with `concurrency` handlers at once on
 * one queue: graphile-worker (LISTEN/NOTIFY, defaults otherwise), pg-boss (LISTEN/NOTIFY queue,
 * `insert` for the fan-out, `concurrency` workers fetching in batches of `concurrency` with burst
 * on a full batch), and raw BullMQ on Redis and on its PostgreSQL backend (defaults, jobs kept).
 */
import { Queue, Worker, createPostgresBackend, type Job } from 'bullmq';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { Jobs, type Contender, type Sizes } from './contender.ts';

type JobData = { kind: string; hop?: number; sent?: number };

const silent = new Logger(() => () => undefined);

export async function graphileWorker(databaseUrl: string, sizes: Sizes): Promise<Contender> {
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger: silent });
  await utils.migrate();
  const jobs = new Jobs();
  const runner = await run({
    connectionString: databaseUrl, concurrency: sizes.concurrency, noHandleSignals: true, logger: silent, maxPoolSize: sizes.concurrency + 2,
    taskList: { job: (payload, helpers) => jobs.run(payload as JobData, (hop) => helpers.addJob('job', { kind: 'hop', hop })) },
  });
  return {
    name: 'graphile-worker',
    chain: async () => {
      const done = jobs.expectChain(sizes.hops);
      await utils.addJob('job', { kind: 'hop', hop: 0 });
      await done;
    },
    fanout: async () => {
      const done = jobs.expectFan(sizes.fanout);
      await utils.addJobs(Array.from({ length: sizes.fanout }, () => ({ identifier: 'job', payload: { kind: 'fan' } })));
      await done;
    },
    addToStart: async () => {
      const started = jobs.started.wait();
      await utils.addJob('job', { kind: 'ping', sent: performance.now() });
      return started;
    },
    close: async () => {
      await runner.stop();
      await utils.release();
    },
  };
}

export async function pgBoss(databaseUrl: string, sizes: Sizes): Promise<Contender> {
  const boss = new PgBoss({ connectionString: databaseUrl, useListenNotify: true, max: sizes.concurrency + 4 });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('peer', { notify: true });
  const jobs = new Jobs();
  await boss.work<JobData>(
    'peer',
    { localConcurrency: sizes.concurrency, batchSize: sizes.concurrency, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 },
    async (batch) => {
      for (const job of batch) await jobs.run(job.data, (hop) => boss.send('peer', { kind: 'hop', hop }));
    },
  );
  return {
    name: 'pg-boss',
    chain: async () => {
      const done = jobs.expectChain(sizes.hops);
      await boss.send('peer', { kind: 'hop', hop: 0 });
      await done;
    },
    fanout: async () => {
      const done = jobs.expectFan(sizes.fanout);
      await boss.insert('peer', Array.from({ length: sizes.fanout }, () => ({ data: { kind: 'fan' } })));
      await done;
    },
    addToStart: async () => {
      const started = jobs.started.wait();
      await boss.send('peer', { kind: 'ping', sent: performance.now() });
      return started;
    },
    close: () => boss.stop({ graceful: true }),
  };
}

/**
 * Postgres commits around each job, the least an engine that keeps its record there must do: the
 * claim committed before the handler (one INSERT), the end committed before the next job is added
 * (one UPDATE). Raw BullMQ with these is the floor of a durable hop without hand-over.
 */
async function commitsAround(databaseUrl: string, concurrency: number) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency + 2 });
  await pool.query('CREATE TABLE IF NOT EXISTS peer_attempts (job_id text PRIMARY KEY, started_at timestamptz NOT NULL, ended_at timestamptz)');
  return {
    claim: (jobId: string) => pool.query('INSERT INTO peer_attempts (job_id, started_at) VALUES ($1, now())', [jobId]),
    end: (jobId: string) => pool.query('UPDATE peer_attempts SET ended_at = now() WHERE job_id = $1', [jobId]),
    close: () => pool.end(),
  };
}

/**
 * Raw BullMQ: Redis when `redisUrl` is given, else its PostgreSQL backend (schema `bullmq_peer`);
 * with `commitsTo`, each job's claim and end committed to that database (commitsAround).
 */
export async function bullmq(sizes: Sizes, where: { redisUrl: string; commitsTo?: string } | { databaseUrl: string }): Promise<Contender> {
  const redis = 'redisUrl' in where ? new Redis(where.redisUrl, { maxRetriesPerRequest: null }) : undefined;
  const pgConnection = 'databaseUrl' in where ? { connectionString: where.databaseUrl, schema: 'bullmq_peer', migrate: true } : undefined;
  const record = 'commitsTo' in where && where.commitsTo ? await commitsAround(where.commitsTo, sizes.concurrency) : undefined;
  const jobs = new Jobs();
  const queue = redis ? new Queue('peer', { connection: redis, prefix: 'peer' }) : new Queue('peer', { connection: pgConnection! }, createPostgresBackend);
  const handle = async (job: Job) => {
    if (!record) return jobs.run(job.data as JobData, (hop) => queue.add('job', { kind: 'hop', hop }));
    const id = String(job.id);
    await record.claim(id);
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      await record.end(id);
    };
    await jobs.run(job.data as JobData, async (hop) => {
      await end();
      return queue.add('job', { kind: 'hop', hop });
    });
    await end();
  };
  const worker = redis
    ? new Worker('peer', handle, { connection: redis, prefix: 'peer', concurrency: sizes.concurrency })
    : new Worker('peer', handle, { connection: pgConnection!, concurrency: sizes.concurrency }, createPostgresBackend);
  await worker.waitUntilReady();
  return {
    name: redis ? (record ? 'bullmq redis, claim and end committed to postgres' : 'bullmq redis') : 'bullmq postgres',
    chain: async () => {
      const done = jobs.expectChain(sizes.hops);
      await queue.add('job', { kind: 'hop', hop: 0 });
      await done;
    },
    fanout: async () => {
      const done = jobs.expectFan(sizes.fanout);
      await queue.addBulk(Array.from({ length: sizes.fanout }, () => ({ name: 'job', data: { kind: 'fan' } })));
      await done;
    },
    addToStart: async () => {
      const started = jobs.started.wait();
      await queue.add('job', { kind: 'ping', sent: performance.now() });
      return started;
    },
    close: async () => {
      await worker.close();
      await queue.close();
      await record?.close();
      redis?.disconnect();
    },
  };
}
