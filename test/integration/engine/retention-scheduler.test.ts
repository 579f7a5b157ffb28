/**
 * Retention never re-opens history: real scheduler passes (scheduleDag, at chosen instants), real
 * workers ending the runs, the real retention (RETENTION_DAYS through the Scheduler, or cleanRuns),
 * then passes again. The schedule's progress lives on the DAG row (dags.last_scheduled_at), so a
 * pass after retention creates only intervals it never created, with catch-up on and off; retention
 * keeps each DAG's latest run of each type; two racing passes never move the progress back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DagSpec } from '../../../engine/types.ts';
import { backfill, triggerRun } from '../../../engine/operations.ts';
import { cleanRuns } from '../../../engine/retention.ts';
import { Scheduler, scheduleDag } from '../../../engine/scheduler.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const daily = (id: string, catchup: boolean): DagSpec => ({
  id,
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  catchup,
  maxActiveRuns: 4,
  startDate: '2025-05-01',
  tasks: { only: { kind: 'noop' } },
});
const DAGS = [daily('cu_on', true), daily('cu_off', false), daily('types', true), daily('gone', true), daily('race', true)];
const DAY = 86_400_000;
/** 06:00 UTC of May `day` 2025 as an ISO string: a logical date of the DAGs above. */
const may = (day: number) => new Date(Date.UTC(2025, 4, day, 6)).toISOString();
const mays = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => may(from + i));

describe('retention and the scheduler', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: DAGS, workers: true });
  });
  afterAll(async () => t?.close());

  const sql = async <R extends object>(text: string, args: unknown[] = []) => (await t.database.pool.query<R>(text, args)).rows;
  /** One real scheduler pass of `dagId` as if the clock read `at`; returns the runs it created. */
  const pass = (dagId: string, at: string) => scheduleDag(t.engine.pool, t.engine.dispatcher, t.dags.get(dagId)!, new Date(at));
  const dates = async (dagId: string) =>
    (await sql<{ d: Date }>('SELECT logical_date AS d FROM dag_runs WHERE dag_id = $1 ORDER BY logical_date', [dagId])).map((r) => r.d.toISOString());
  const progress = async (dagId: string) =>
    (await sql<{ p: Date | null }>('SELECT last_scheduled_at AS p FROM dags WHERE dag_id = $1', [dagId]))[0].p?.toISOString() ?? null;

  /** Waits until the workers have ended every run of `dagId`. */
  async function ended(dagId: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    const open = async () => (await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = $1 AND state NOT IN ('success', 'failed')`, [dagId]))[0].n;
    while ((await open()) > 0) {
      if (Date.now() > deadline) throw new Error(`runs of ${dagId} still open after 30 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits until the workers have ended every run of `dagId`, then makes them 40 days old. */
  async function endAndAge(dagId: string): Promise<void> {
    await ended(dagId);
    await sql(`UPDATE dag_runs SET ended_at = ended_at - interval '40 days' WHERE dag_id = $1`, [dagId]);
  }

  /** RETENTION_DAYS=30 as the scheduler applies it at start (to every DAG); returns the runs it deleted. */
  async function retention(): Promise<number> {
    const lines: { msg: string; deleted?: Record<string, number> }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const scheduler = new Scheduler(t.engine.pool, t.engine.dispatcher, new Map(), log, { retentionDays: 30 });
    await scheduler.start();
    await scheduler.stop(); // waits for the retention pass started at start
    const applied = lines.find((l) => l.msg === 'retention applied');
    if (!applied?.deleted) throw new Error(`no retention pass logged: ${JSON.stringify(lines)}`);
    return applied.deleted.dag_runs;
  }

  it('catch-up on: 10 runs, retention, the same pass again creates 0, ten days later exactly the 10 new ones', async () => {
    expect(await pass('cu_on', '2025-05-10T12:00:00Z')).toBe(10);
    expect(await progress('cu_on')).toBe(may(10));
    await endAndAge('cu_on');
    // Soft: with history re-opened the passes below must fail as well, showing how.
    expect.soft(await retention()).toBe(9); // the first aged runs of this file
    expect.soft(await dates('cu_on')).toEqual([may(10)]); // the latest scheduled run is kept
    expect(await pass('cu_on', '2025-05-10T12:00:00Z')).toBe(0);
    expect(await pass('cu_on', '2025-05-20T12:00:00Z')).toBe(10);
    expect(await dates('cu_on')).toEqual(mays(10, 20));
    expect(await progress('cu_on')).toBe(may(20));
  });

  it('catch-up off: a restart after retention re-creates nothing; the next interval comes once', async () => {
    for (const day of [10, 11, 12]) expect(await pass('cu_off', `2025-05-${day}T12:00:00Z`)).toBe(1);
    await endAndAge('cu_off');
    await retention();
    expect.soft(await dates('cu_off')).toEqual([may(12)]); // May 10 and 11 deleted, the latest kept
    expect(await pass('cu_off', '2025-05-12T12:00:00Z')).toBe(0); // a restart the same day
    expect(await pass('cu_off', '2025-05-12T23:00:00Z')).toBe(0);
    expect(await pass('cu_off', '2025-05-14T12:00:00Z')).toBe(1); // only the latest, as catch-up off does
    expect(await dates('cu_off')).toEqual([may(12), may(14)]);
  });

  it('retention keeps each DAG\'s latest run of each type, and says how many it kept', async () => {
    expect(await pass('types', '2025-05-04T12:00:00Z')).toBe(4); // scheduled May 1–4
    const dag = t.dags.get('types')!;
    await backfill(t.engine.pool, t.engine.dispatcher, dag, ['2025-04-20', '2025-04-21', '2025-04-22'].map((d) => new Date(`${d}T06:00:00Z`)));
    for (const day of ['2025-03-01', '2025-03-02']) await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: day });
    await endAndAge('types');
    const cutoff = new Date(Date.now() - 30 * DAY);
    const dry = await cleanRuns(t.engine.pool, { before: cutoff, dagId: 'types', dryRun: true });
    expect([dry.deleted.get('dag_runs'), dry.kept]).toEqual([6, 3]);
    const done = await cleanRuns(t.engine.pool, { before: cutoff, dagId: 'types', batchSize: 2 });
    expect([done.deleted.get('dag_runs'), done.deleted.get('task_instances'), done.kept]).toEqual([6, 6, 3]);
    const left = await sql<{ run_type: string; d: Date }>(
      `SELECT run_type, logical_date AS d FROM dag_runs WHERE dag_id = 'types' ORDER BY run_type`);
    expect(left.map((r) => [r.run_type, r.d.toISOString()])).toEqual([
      ['backfill', '2025-04-22T06:00:00.000Z'],
      ['manual', '2025-03-02T06:00:00.000Z'], // a manual run's logical date: the day's first tick
      ['scheduled', may(4)],
    ]);
    // Again: nothing more goes, the same three are kept.
    const again = await cleanRuns(t.engine.pool, { before: cutoff, dagId: 'types' });
    expect([again.deleted.get('dag_runs'), again.kept]).toEqual([0, 3]);
  });

  it('the stored progress holds when the runs are gone; without it the newest scheduled run stands in', async () => {
    expect(await pass('gone', '2025-05-05T12:00:00Z')).toBe(5);
    await endAndAge('gone');
    await sql(`DELETE FROM dag_runs WHERE dag_id = 'gone'`); // deleted by hand (or by an older retention)
    expect(await pass('gone', '2025-05-05T12:00:00Z')).toBe(0);
    expect(await pass('gone', '2025-05-07T12:00:00Z')).toBe(2);
    expect(await dates('gone')).toEqual(mays(6, 7));
    // An install from before the column: no stored progress, the newest scheduled run is the progress.
    await sql(`UPDATE dags SET last_scheduled_at = NULL WHERE dag_id = 'gone'`);
    expect(await pass('gone', '2025-05-07T12:00:00Z')).toBe(0);
    expect(await pass('gone', '2025-05-08T12:00:00Z')).toBe(1);
    expect(await progress('gone')).toBe(may(8));
  });

  it('two racing passes create each run once and never move the progress back', async () => {
    expect(await pass('race', '2025-05-05T12:00:00Z')).toBe(5);
    await ended('race'); // no run end of this DAG waits on its row below
    // Hold the DAG row so pass A (clock May 20) stops after creating its runs, before advancing;
    // pass B (clock May 15) read the same progress and waits on A's uncommitted runs. A commits
    // first; B's commit must not take the progress back to May 15.
    const blocker = await t.database.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM dags WHERE dag_id = 'race' FOR UPDATE`);
      /** Waits until a session runs a statement starting with `statement` and waits on a lock. */
      const waiting = async (statement: string) => {
        for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
          const rows = await sql(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND starts_with(query, $1)`,
            [statement]);
          if (rows.length > 0) return;
        }
        throw new Error(`no pass waits on a lock in "${statement}…" after 10 s`);
      };
      const a = pass('race', '2025-05-20T12:00:00Z');
      await waiting('SELECT trib_schedule_advance');
      const b = pass('race', '2025-05-15T12:00:00Z');
      await waiting('SELECT * FROM trib_create_run');
      await blocker.query('COMMIT');
      expect(await Promise.all([a, b])).toEqual([15, 0]);
    } finally {
      blocker.release();
    }
    expect(await dates('race')).toEqual(mays(1, 20));
    expect(await progress('race')).toBe(may(20));
  });
});
