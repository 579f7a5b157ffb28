/**
 * The scheduler: a node-cron tick per scheduled DAG (in its timezone) plus one catch-up pass at
 * start. Each pass computes the due logical dates with cron arithmetic from the schedule's progress
 * stored on the DAG row (dags.last_scheduled_at) and creates their runs, advancing the progress in
 * the same transaction, so retention deleting old runs never re-opens their intervals. The unique
 * (dag_id, logical_date) index makes two schedulers at once create each run once.
 * With a retention, it also deletes old runs at start and once a day.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../db/client.ts';
import type { Dispatcher } from './dispatcher.ts';
import { OutageLog } from './outage.ts';
import { cleanRuns } from './retention.ts';
import { startQueuedRuns } from './transitions.ts';
import { createRun } from './runs.ts';
import { dataInterval, dueLogicalDates } from './schedule.ts';
import type { CompiledDag } from './types.ts';

/** Creates the runs `dag` is due for at `now`; returns how many were new. Paused DAGs create none. */
export async function scheduleDag(pool: pg.Pool, dispatcher: Dispatcher, dag: CompiledDag, now: Date): Promise<number> {
  if (!dag.schedule) return 0;
  const { cron: expr, timezone } = dag.schedule;
  const { rows } = await pool.query<{ paused: boolean; last: Date | null }>('SELECT * FROM trib_schedule_progress($1)', [dag.id]);
  if (!rows[0] || rows[0].paused) return 0;
  const due = dueLogicalDates({ cron: expr, timezone, catchup: dag.catchup, startDate: dag.startDate }, rows[0].last, now);
  let created = 0;
  const jobs = await withTransaction(pool, async (client) => {
    for (const logicalDate of due) {
      const { end } = dataInterval(expr, timezone, logicalDate);
      if ((await createRun(client, dag, { logicalDate, intervalEnd: end, runType: 'scheduled' })).created) created++;
    }
    // Run rows first, then the DAG row, as every transaction that creates runs does (trigger,
    // backfill: their startQueuedRuns): the DAG row taken before the inserts could close a
    // deadlock with a backfill that inserted the same date and waits for that row.
    if (due.length > 0) await client.query('SELECT trib_schedule_advance($1, $2)', [dag.id, due[due.length - 1]]);
    return startQueuedRuns(client, dag.id);
  });
  await dispatcher.enqueue(jobs);
  return created;
}

export interface SchedulerOptions {
  /** Delete runs that ended more than this many days ago (engine/retention.ts), at start and daily; 0 = never. @default 0 */
  retentionDays?: number;
  /** Where failed passes go: one line when the database goes, one when it is back. @default its own */
  outage?: OutageLog;
}

/** When the daily retention pass runs (UTC). */
const RETENTION_CRON = '17 3 * * *';
const DAY_MS = 86_400_000;

export class Scheduler {
  /** Each scheduled DAG's cron tick. */
  private readonly ticks = new Map<string, ScheduledTask>();
  /** The daily retention pass. */
  private readonly tasks: ScheduledTask[] = [];
  private retention?: Promise<void>;
  private readonly outage: OutageLog;

  constructor(
    private readonly pool: pg.Pool,
    private readonly dispatcher: Dispatcher,
    private readonly dags: ReadonlyMap<string, CompiledDag>,
    private readonly log: Logger,
    private readonly options: SchedulerOptions = {},
  ) {
    this.outage = options.outage ?? new OutageLog(log);
  }

  /** Catch up once, then tick each DAG on its cron; a tick while the DAG's previous pass still runs is skipped. */
  async start(): Promise<void> {
    for (const dag of this.dags.values()) await this.tick(dag);
    const scheduled = this.ticks.size;
    const days = this.options.retentionDays ?? 0;
    if (days > 0) {
      this.retention = this.clean(days);
      this.tasks.push(cron.schedule(RETENTION_CRON, () => (this.retention = this.clean(days)), { timezone: 'UTC', name: 'retention', noOverlap: true }));
    }
    this.log.info({ dags: scheduled, retention_days: days }, 'scheduler started');
  }

  /** A catch-up pass of a scheduled DAG, then its cron tick (the DAG as it is in the map at each tick). */
  private async tick(dag: CompiledDag): Promise<void> {
    if (!dag.schedule) return;
    await this.pass(dag, new Date());
    // The tick's own date: a callback a few ms early must still see its tick as due. The
    // callback returns the pass, so node-cron's noOverlap sees it running until it ends.
    this.ticks.set(dag.id, cron.schedule(dag.schedule.cron, (tick) => this.pass(this.dags.get(dag.id) ?? dag, new Date(Math.max(Date.now(), tick.date.getTime()))), {
      timezone: dag.schedule.timezone,
      name: dag.id,
      noOverlap: true,
      logger: this.cronLogger(dag.id),
    }));
  }

  /**
   * A DAG reloaded from its file (engine/dag-reload.ts), already in the map: a changed schedule
   * (or a new DAG) restarts its tick, with a catch-up pass; the same schedule keeps it.
   */
  async reschedule(previous: CompiledDag | undefined, dag: CompiledDag): Promise<void> {
    const same = previous?.schedule?.cron === dag.schedule?.cron && previous?.schedule?.timezone === dag.schedule?.timezone;
    if (previous && same) return;
    await this.ticks.get(dag.id)?.destroy();
    this.ticks.delete(dag.id);
    await this.tick(dag);
  }

  async stop(): Promise<void> {
    for (const task of [...this.ticks.values(), ...this.tasks]) await task.destroy();
    this.ticks.clear();
    this.tasks.length = 0;
    await this.retention;
  }

  /** node-cron's own messages (e.g. a tick skipped by noOverlap) go to our log, tagged with the DAG. */
  private cronLogger(dagId: string) {
    const log = this.log.child({ dag_id: dagId });
    const text = (message: string | Error) => (message instanceof Error ? message.message : message);
    return {
      info: (message: string) => log.debug(message),
      warn: (message: string) => log.warn(message),
      error: (message: string | Error, err?: Error) => log.error({ err: err ?? message }, text(message)),
      debug: (message: string | Error) => log.debug(text(message)),
    };
  }

  private async clean(days: number): Promise<void> {
    try {
      const { deleted, kept } = await cleanRuns(this.pool, { before: new Date(Date.now() - days * DAY_MS) });
      this.log.info({ retention_days: days, deleted: Object.fromEntries(deleted), kept_latest_runs: kept }, 'retention applied');
    } catch (err) {
      await this.outage.passFailed('database', err, () => this.pool.query('SELECT 1'), 'retention failed; the next daily pass retries');
    }
  }

  private async pass(dag: CompiledDag, now: Date): Promise<void> {
    try {
      const created = await scheduleDag(this.pool, this.dispatcher, dag, now);
      if (created > 0) this.log.info({ dag_id: dag.id, created }, 'runs created');
      this.outage.ok('database');
    } catch (err) {
      await this.outage.passFailed('database', err, () => this.pool.query('SELECT 1'), `scheduling pass of ${dag.id} failed; the next tick retries`);
    }
  }
}
