/**
 * The scheduler: a node-cron tick per scheduled DAG (in its timezone) plus one catch-up pass at
 * start. Each pass computes the due logical dates with cron arithmetic and creates their runs;
 * the unique (dag_id, logical_date) index makes two schedulers at once create each run once.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../db/client.ts';
import type { Dispatcher } from './dispatcher.ts';
import { createRun, startQueuedRuns } from './runs.ts';
import { dataInterval, dueLogicalDates } from './schedule.ts';
import type { CompiledDag } from './types.ts';

/** Creates the runs `dag` is due for at `now`; returns how many were new. Paused DAGs create none. */
export async function scheduleDag(pool: pg.Pool, dispatcher: Dispatcher, dag: CompiledDag, now: Date): Promise<number> {
  if (!dag.schedule) return 0;
  const { cron: expr, timezone } = dag.schedule;
  const { rows } = await pool.query<{ paused: boolean; last: Date | null }>(
    `SELECT d.paused, (SELECT max(logical_date) FROM dag_runs r WHERE r.dag_id = d.dag_id AND r.run_type = 'scheduled') AS last
     FROM dags d WHERE d.dag_id = $1`,
    [dag.id],
  );
  if (!rows[0] || rows[0].paused) return 0;
  const due = dueLogicalDates({ cron: expr, timezone, catchup: dag.catchup, startDate: dag.startDate }, rows[0].last, now);
  let created = 0;
  const jobs = await withTransaction(pool, async (client) => {
    for (const logicalDate of due) {
      const { end } = dataInterval(expr, timezone, logicalDate);
      if ((await createRun(client, dag, { logicalDate, intervalEnd: end, runType: 'scheduled' })).created) created++;
    }
    return startQueuedRuns(client, dag);
  });
  await dispatcher.enqueue(jobs);
  return created;
}

export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly dispatcher: Dispatcher,
    private readonly dags: ReadonlyMap<string, CompiledDag>,
    private readonly log: Logger,
  ) {}

  /** Catch up once, then tick each DAG on its cron. */
  async start(): Promise<void> {
    for (const dag of this.dags.values()) {
      if (!dag.schedule) continue;
      await this.pass(dag, new Date());
      this.tasks.push(
        // The tick's own date: a callback a few ms early must still see its tick as due.
        cron.schedule(dag.schedule.cron, (tick) => void this.pass(dag, new Date(Math.max(Date.now(), tick.date.getTime()))), {
          timezone: dag.schedule.timezone,
          name: dag.id,
          noOverlap: true,
        }),
      );
    }
    this.log.info({ dags: this.tasks.length }, 'scheduler started');
  }

  async stop(): Promise<void> {
    for (const task of this.tasks) await task.destroy();
    this.tasks.length = 0;
  }

  private async pass(dag: CompiledDag, now: Date): Promise<void> {
    try {
      const created = await scheduleDag(this.pool, this.dispatcher, dag, now);
      if (created > 0) this.log.info({ dag_id: dag.id, created }, 'runs created');
    } catch (err) {
      this.log.error({ dag_id: dag.id, err }, 'scheduling pass failed; the next tick retries');
    }
  }
}
