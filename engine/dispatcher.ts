/**
 * The bridge from Postgres state to BullMQ: enqueue the jobs a commit made ready, and sweep —
 * repair queued/running tries whose job is missing (a crash between COMMIT and enqueue, a wiped
 * Redis, a job BullMQ gave up on), start runs that are waiting for a slot, and trim the queues.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../db/client.ts';
import { advanceRun, startQueuedRuns } from './transitions.ts';
import { completePendingEffects } from './file-effects.ts';
import type { PendingJob } from './jobs.ts';
import type { QueueBackend } from './queues.ts';
import type { CompiledDag } from './types.ts';

/**
 * Completed jobs are kept (a repeated add of the same id stays a no-op) until the sweeper trims
 * them: older than an hour or beyond the newest 2,000 of a queue. Not BullMQ's removeOnComplete,
 * which costs every completion a DELETE on the PostgreSQL backend (and with `count`, 40P01
 * deadlocks between concurrent completions).
 */
const KEEP_COMPLETED = { ageMs: 3600_000, count: 2000 };
const KEEP_FAILED = { age: 7 * 24 * 3600 };

export class Dispatcher {
  constructor(
    private readonly pool: pg.Pool,
    private readonly backend: QueueBackend,
    private readonly dags: ReadonlyMap<string, CompiledDag>,
    private readonly log: Logger,
  ) {}

  /** Adds the jobs, grouped per queue in bulk. Deterministic ids make a repeated add a no-op. */
  async enqueue(jobs: PendingJob[]): Promise<void> {
    const byQueue = new Map<string, PendingJob[]>();
    for (const job of jobs) byQueue.set(job.queue, [...(byQueue.get(job.queue) ?? []), job]);
    for (const [queue, list] of byQueue) {
      const jobs = list.map((j) => ({
        name: j.jobId,
        data: j.data,
        opts: {
          jobId: j.jobId,
          delay: j.delayMs,
          priority: j.priority,
          attempts: 1, // retries are the engine's: each try is its own job
          removeOnComplete: false, // trimmed by the sweeper (KEEP_COMPLETED)
          removeOnFail: KEEP_FAILED,
        },
      }));
      // One job (a chain's next task) skips addBulk's MULTI transaction: one script call.
      if (jobs.length === 1) await this.backend.queue(queue).add(jobs[0].name, jobs[0].data, jobs[0].opts);
      else await this.backend.queue(queue).addBulk(jobs);
    }
  }

  /**
   * One sweep. `graceMs` leaves alone rows changed more recently than that (their enqueue may be in
   * flight). Returns how many jobs were re-added.
   */
  async sweep(graceMs = 10_000): Promise<number> {
    const started = await this.startWaitingRuns();
    // engine/sql/sweep.sql: the tries that should have a job (never one running under a live lease).
    const { rows } = await this.pool.query<{
      id: number; dag_id: string; task_id: string; job_id: string; queue: string; try_number: number; delay_ms: number;
    }>('SELECT * FROM trib_sweep_due($1)', [graceMs]);
    const missing: PendingJob[] = [];
    for (const row of rows) {
      const queue = this.backend.queue(row.queue);
      const job = await queue.getJob(row.job_id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') continue;
      if (job) await job.remove().catch(() => undefined); // completed/failed without our state moving: try again
      const task = this.dags.get(row.dag_id)?.tasks.get(row.task_id);
      missing.push({
        queue: row.queue, jobId: row.job_id, data: { taskInstanceId: row.id, tryNumber: row.try_number },
        priority: task?.priority, delayMs: row.delay_ms || undefined,
      });
    }
    await this.repairStuckRuns();
    await completePendingEffects(this.pool, this.log, graceMs); // file renames a dead worker or a failed rename left (engine/file-effects.ts)
    if (missing.length > 0) {
      this.log.warn({ jobs: missing.map((m) => m.jobId) }, `sweeper re-enqueued ${missing.length} job(s)`);
      await this.enqueue(missing);
    }
    await this.trimCompleted();
    return missing.length + started;
  }

  /** Removes the completed jobs KEEP_COMPLETED lets go, oldest first, from the queues of the loaded DAGs. */
  async trimCompleted(): Promise<void> {
    const queues = new Set([...this.dags.values()].flatMap((dag) => [...dag.tasks.values()].map((task) => task.kind)));
    for (const name of queues) {
      const queue = this.backend.queue(name);
      await queue.clean(KEEP_COMPLETED.ageMs, 0, 'completed');
      const excess = (await queue.getCompletedCount()) - KEEP_COMPLETED.count;
      if (excess > 0) await queue.clean(0, excess, 'completed');
    }
  }

  /** Starts queued runs (maxActiveRuns slots freed, unpaused DAGs) and enqueues their first tasks. */
  async startWaitingRuns(): Promise<number> {
    const { rows } = await this.pool.query<{ dag_id: string }>('SELECT trib_dags_waiting() AS dag_id');
    let count = 0;
    for (const { dag_id } of rows) {
      const dag = this.dags.get(dag_id);
      if (!dag) continue;
      const jobs = await withTransaction(this.pool, (c) => startQueuedRuns(c, dag.id));
      count += jobs.length;
      await this.enqueue(jobs);
    }
    return count;
  }

  /** Running runs with no live task (e.g. the process died inside advance): advance them again. */
  private async repairStuckRuns(): Promise<void> {
    const { rows } = await this.pool.query<{ id: number; dag_id: string }>('SELECT * FROM trib_stuck_runs()');
    for (const row of rows) {
      const dag = this.dags.get(row.dag_id);
      if (!dag) continue;
      const { jobs } = await withTransaction(this.pool, (c) => advanceRun(c, row.id));
      await this.enqueue(jobs);
    }
  }
}
