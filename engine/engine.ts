/**
 * Wires one Tributary process: database, queue backend, DAGs, dispatcher, and — on request —
 * the scheduler, the workers and the sweeper. Every role (`trib scheduler|worker|dashboard|
 * standalone`) is this object with different parts started.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import { connect, type Database } from '../db/client.ts';
import { Dispatcher } from './dispatcher.ts';
import { executeTry } from './executor.ts';
import { createQueueBackend, type QueueBackend, type TaskWorker } from './queues.ts';
import { registerDags } from './runs.ts';
import { Scheduler } from './scheduler.ts';
import { TributaryError } from './errors.ts';
import type { CompiledDag, JobKind } from './types.ts';

export interface EngineOptions {
  databaseUrl: string;
  queueBackend: 'redis' | 'postgres';
  redisUrl?: string;
  queuePrefix: string;
  dags: ReadonlyMap<string, CompiledDag>;
  kinds: ReadonlyMap<string, JobKind>;
  log: Logger;
  /** @default 10 */
  poolSize?: number;
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
  private sweepTimer?: NodeJS.Timeout;
  private readonly workers: TaskWorker[] = [];

  constructor(readonly options: EngineOptions) {
    this.database = connect(options.databaseUrl, { max: options.poolSize ?? 10, applicationName: 'tributary' });
    this.backend = createQueueBackend({
      kind: options.queueBackend,
      redisUrl: options.redisUrl,
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

  dag(dagId: string): CompiledDag {
    const dag = this.options.dags.get(dagId);
    if (!dag) {
      const known = [...this.options.dags.keys()].join(', ') || 'none';
      throw new TributaryError('DAG_NOT_FOUND', `unknown dag "${dagId}" (known: ${known})`);
    }
    return dag;
  }

  /** Upserts the DAG registry (keeps pause flags). */
  async register(): Promise<void> {
    await registerDags(this.pool, this.options.dags.values());
  }

  async startScheduler(): Promise<void> {
    this.scheduler = new Scheduler(this.pool, this.dispatcher, this.options.dags, this.options.log);
    await this.scheduler.start();
  }

  startWorkers(options: WorkerOptions): string[] {
    const queues = options.queues ?? [...this.options.kinds.keys()];
    for (const queue of queues) {
      if (!this.options.kinds.has(queue)) {
        throw new TributaryError('ARGUMENT_INVALID', `unknown queue "${queue}" (known: ${[...this.options.kinds.keys()].join(', ')})`);
      }
      const deps = {
        pool: this.pool,
        dags: this.options.dags,
        kinds: this.options.kinds,
        log: this.options.log,
        workerName: this.workerName,
        enqueue: (jobs: Parameters<Dispatcher['enqueue']>[0]) => this.dispatcher.enqueue(jobs),
      };
      this.workers.push(
        this.backend.worker(queue, (job) => executeTry(deps, job.data), {
          concurrency: options.concurrency(queue),
          lockDuration: options.lockDurationMs ?? 30_000,
        }),
      );
    }
    return queues;
  }

  /** Periodic repair of the commit→enqueue gap; also starts runs waiting for a slot. */
  startSweeper(intervalMs: number, graceMs = Math.min(intervalMs, 10_000)): void {
    const tick = async () => {
      try {
        await this.dispatcher.sweep(graceMs);
      } catch (err) {
        this.options.log.error({ err }, 'sweep failed; retrying next interval');
      }
      this.sweepTimer = setTimeout(tick, intervalMs);
      this.sweepTimer.unref();
    };
    this.sweepTimer = setTimeout(tick, intervalMs);
    this.sweepTimer.unref();
  }

  /** Graceful: stop taking jobs, let running tries finish, then close connections. */
  async close(): Promise<void> {
    clearTimeout(this.sweepTimer);
    await this.scheduler?.stop();
    await this.backend.close();
    await this.database.close();
  }
}
