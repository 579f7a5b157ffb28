/**
 * The bridge from Postgres state to BullMQ: enqueue the jobs a commit made ready, and sweep —
 * repair queued/running tries whose job is missing (a crash between COMMIT and enqueue, a wiped
 * Redis, a job BullMQ gave up on) and start runs that are waiting for a slot.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../db/client.ts';
import { advanceRun, startQueuedRuns } from './transitions.ts';
import type { PendingJob } from './jobs.ts';
import type { QueueBackend } from './queues.ts';
import type { CompiledDag } from './types.ts';

const KEEP_COMPLETED = { age: 3600, count: 2000 };
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
          removeOnComplete: KEEP_COMPLETED,
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
    // A running try is left alone while its worker's lease is live (however its job was lost):
    // re-delivering it would run its body twice. A delayed job comes back with its remaining delay.
    const { rows } = await this.pool.query<{
      id: number; dag_id: string; task_id: string; job_id: string; queue: string; try_number: number; delay_ms: number;
    }>(
      `SELECT ti.id, r.dag_id, ti.task_id, ti.job_id, ti.queue, ti.try_number,
         GREATEST(0, ceil(extract(epoch FROM ti.not_before - now()) * 1000))::int AS delay_ms
       FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
       WHERE r.state = 'running' AND ti.state IN ('queued', 'running', 'up_for_retry')
         AND (ti.state <> 'running' OR ti.lease_until IS NULL OR ti.lease_until < now())
         AND ti.job_id IS NOT NULL AND ti.updated_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [graceMs],
    );
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
    if (missing.length > 0) {
      this.log.warn({ jobs: missing.map((m) => m.jobId) }, `sweeper re-enqueued ${missing.length} job(s)`);
      await this.enqueue(missing);
    }
    return missing.length + started;
  }

  /** Starts queued runs (maxActiveRuns slots freed, unpaused DAGs) and enqueues their first tasks. */
  async startWaitingRuns(): Promise<number> {
    const { rows } = await this.pool.query<{ dag_id: string }>(`SELECT DISTINCT dag_id FROM dag_runs WHERE state = 'queued'`);
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
    const { rows } = await this.pool.query<{ id: number; dag_id: string }>(
      `SELECT r.id, r.dag_id FROM dag_runs r WHERE r.state = 'running' AND NOT EXISTS (
         SELECT 1 FROM task_instances ti WHERE ti.run_id = r.id AND ti.state IN ('queued', 'running', 'up_for_retry'))`,
    );
    for (const row of rows) {
      const dag = this.dags.get(row.dag_id);
      if (!dag) continue;
      const { jobs } = await withTransaction(this.pool, (c) => advanceRun(c, row.id));
      await this.enqueue(jobs);
    }
  }
}
