/**
 * Wires one Tributary process: database, queue backend, DAGs, dispatcher, and — on request —
 * the scheduler, the workers and the sweeper. Every role (`trib scheduler|worker|dashboard|
 * standalone`) is this object with different parts started.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import { connect, type Database } from '../db/client.ts';
import { CallbackDeliverer } from './callback-delivery.ts';
import { closeConnections } from './connections.ts';
import { Dispatcher } from './dispatcher.ts';
import { executeTry, type ExecutorDeps } from './executor.ts';
import { Leases } from './leases.ts';
import { OutageLog } from './outage.ts';
import { createQueueBackend, type QueueBackend, type TaskWorker } from './queues.ts';
import { registerDags } from './runs.ts';
import { Scheduler } from './scheduler.ts';
import { defaultDataRoots } from './config.ts';
import { TributaryError } from './errors.ts';
import type { CompiledDag, JobKind } from './types.ts';

export interface EngineOptions {
  databaseUrl: string;
  queueBackend: 'redis' | 'postgres';
  redisUrl?: string;
  /** REDIS_URL is a Redis Cluster (REDIS_CLUSTER); queuePrefix must then carry a `{hash tag}`. @default false */
  redisCluster?: boolean;
  queuePrefix: string;
  /** Postgres schema of the engine's tables (TRIBUTARY_SCHEMA). @default 'tributary' */
  schema?: string;
  dags: ReadonlyMap<string, CompiledDag>;
  kinds: ReadonlyMap<string, JobKind>;
  log: Logger;
  /** Postgres connections of this process. @default 10 */
  poolSize?: number;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** A session idle inside a task's transaction this long is ended by Postgres (TASK_IDLE_TIMEOUT_MS). @default 900000 */
  taskIdleTimeoutMs?: number;
  /** The try fails with WORKER_LOST once this many of its attempts lost their worker. @default 2 */
  workerLostLimit?: number;
  /** Tries one delivery may run back to back by hand-over (HANDOVER_MAX); 0 = never. @default 20 */
  handoverMax?: number;
  /** Engine retries of one try after infrastructure errors. @default 10 */
  infraRetryMax?: number;
  /** How long a worker waits for the database to come back to record an attempt's end. @default 60000 */
  recordWaitMs?: number;
  /** The scheduler deletes runs that ended more than this many days ago, daily; 0 = never. @default 0 */
  retentionDays?: number;
  /** Folders tasks may touch files in (a DAG's dataRoots add to them). @default defaultDataRoots() */
  dataRoots?: string[];
  /** Base of the run links callbacks get, e.g. `http://127.0.0.1:8080`. @default no links */
  dashboardUrl?: string;
  /** How often the scheduler's callback deliverer looks for events and missed deadlines. @default 1000 */
  callbackPollMs?: number;
  /**
   * A DAG registered for the first time starts paused (schedule off; manual and backfill runs
   * still start) unless it says `pausedAtCreation: false` (DAGS_PAUSED_AT_CREATION). @default false
   */
  pausedAtCreation?: boolean;
}

export interface WorkerOptions {
  /** Queues to consume. @default every kind's queue */
  queues?: string[];
  concurrency: (queue: string) => number;
  /** @default 30000 */
  lockDurationMs?: number;
}

export class Engine {
  readonly database: Database;
  readonly backend: QueueBackend;
  readonly dispatcher: Dispatcher;
  readonly workerName = `${os.hostname()}:${process.pid}`;
  private scheduler?: Scheduler;
  private callbacks?: CallbackDeliverer;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping = false;
  /** Set by close(): running tries finish, but hand no further try over. */
  private stopping = false;
  private readonly workers: TaskWorker[] = [];
  private leases?: Leases;
  readonly outage: OutageLog;

  constructor(readonly options: EngineOptions) {
    this.outage = new OutageLog(options.log);
    this.database = connect(options.databaseUrl, {
      max: options.poolSize ?? 10,
      applicationName: 'tributary',
      schema: options.schema,
      idleInTransactionMs: options.taskIdleTimeoutMs ?? 900_000,
      connectionTimeoutMillis: options.connectTimeoutMs,
      // pool.end() resolves before its sockets finish closing: a server stopped right after close()
      // (the embedded Postgres a command started) may still end one of them. Not an outage then.
      onError: (err) => {
        if (!this.stopping) this.outage.failed('database', err);
      },
    });
    this.backend = createQueueBackend({
      kind: options.queueBackend,
      redisUrl: options.redisUrl,
      cluster: options.redisCluster,
      databaseUrl: options.databaseUrl,
      prefix: options.queuePrefix,
    });
    this.dispatcher = new Dispatcher(this.database.pool, this.backend, options.dags, options.log);
  }

  get pool() {
    return this.database.pool;
  }

  get dags() {
    return this.options.dags;
  }

  get dataRoots(): readonly string[] {
    return this.options.dataRoots ?? defaultDataRoots();
  }

  dag(dagId: string): CompiledDag {
    const dag = this.options.dags.get(dagId);
    if (!dag) {
      const known = [...this.options.dags.keys()].join(', ') || 'none';
      throw new TributaryError('DAG_NOT_FOUND', `unknown dag "${dagId}" (known: ${known})`);
    }
    return dag;
  }

  /** Upserts the DAG registry (keeps pause flags; a new DAG may start paused, see pausedAtCreation). */
  async register(): Promise<void> {
    await this.backend.verify(); // a Redis Cluster behind REDIS_URL without REDIS_CLUSTER=true (or the reverse)
    await registerDags(this.pool, this.options.dags.values(), { pausedAtCreation: this.options.pausedAtCreation ?? false });
  }

  async startScheduler(): Promise<void> {
    this.scheduler = new Scheduler(this.pool, this.dispatcher, this.options.dags, this.options.log, {
      retentionDays: this.options.retentionDays, outage: this.outage,
    });
    await this.scheduler.start();
    this.callbacks = new CallbackDeliverer({
      pool: this.pool, dags: this.options.dags, log: this.options.log, outage: this.outage, dashboardUrl: this.options.dashboardUrl, pollMs: this.options.callbackPollMs,
    });
    this.callbacks.start();
  }

  /** A DAG reloaded into `dags` (engine/dag-reload.ts): the scheduler, if running here, follows its schedule. */
  async rescheduleDag(previous: CompiledDag | undefined, dag: CompiledDag): Promise<void> {
    await this.scheduler?.reschedule(previous, dag);
  }

  startWorkers(options: WorkerOptions): string[] {
    const queues = options.queues ?? [...this.options.kinds.keys()];
    const lockDuration = options.lockDurationMs ?? 30_000;
    for (const queue of queues) {
      if (!this.options.kinds.has(queue)) {
        throw new TributaryError('ARGUMENT_INVALID', `unknown queue "${queue}" (known: ${[...this.options.kinds.keys()].join(', ')})`);
      }
      const deps = this.executorDeps(lockDuration);
      this.workers.push(
        this.backend.worker(queue, (job) => executeTry(deps, job.data), {
          concurrency: options.concurrency(queue),
          lockDuration,
        }),
      );
    }
    return queues;
  }

  /** What executeTry needs from this process (also used by tests that deliver a job by hand). */
  executorDeps(lockDurationMs = 30_000): ExecutorDeps {
    this.leases ??= new Leases(this.pool, this.workerName, lockDurationMs, this.outage);
    return {
      pool: this.pool,
      dags: this.options.dags,
      kinds: this.options.kinds,
      log: this.options.log,
      workerName: this.workerName,
      dataRoots: this.dataRoots,
      enqueue: (jobs) => this.dispatcher.enqueue(jobs),
      leases: this.leases,
      outage: this.outage,
      workerLostLimit: this.options.workerLostLimit ?? 2,
      handoverMax: this.options.handoverMax ?? 20,
      stopping: () => this.stopping,
      infraRetryMax: this.options.infraRetryMax ?? 10,
      recordWaitMs: this.options.recordWaitMs ?? 60_000,
    };
  }

  /** Periodic repair of the commit→enqueue gap; also starts runs waiting for a slot. */
  startSweeper(intervalMs: number, graceMs = Math.min(intervalMs, 10_000)): void {
    const tick = async () => {
      try {
        await this.dispatcher.sweep(graceMs);
        this.outage.ok('sweeper');
      } catch (err) {
        this.outage.failed('sweeper', err);
      }
      if (this.sweeping) this.sweepTimer = setTimeout(tick, intervalMs);
    };
    // Not unref()'d: the sweeper alone keeps a scheduler with no cron DAG alive.
    this.sweeping = true;
    this.sweepTimer = setTimeout(tick, intervalMs);
  }

  /** Graceful: stop taking jobs, let running tries finish, then close connections. */
  async close(): Promise<void> {
    this.stopping = true;
    this.sweeping = false;
    clearTimeout(this.sweepTimer);
    await this.scheduler?.stop();
    await this.callbacks?.stop();
    await this.backend.close(); // running tries finish first, their leases still renewed
    this.leases?.stop();
    await this.database.close();
    await closeConnections(); // the pools of TRIB_CONN_* connections this process opened
  }
}
