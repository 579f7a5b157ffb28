/**
 * Scheduling against real Postgres: catch-up creates exactly the missed runs (oldest first,
 * within maxActiveRuns), catchup=false only the latest, two schedulers create each run once,
 * paused DAGs create nothing, backfill of a daily DAG creates one run per day (engine/backfill.test.ts: other crons).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defineDag } from '../../../engine/dag.ts';
import { Engine } from '../../../engine/engine.ts';
import { backfill, planBackfill } from '../../../engine/operations.ts';
import { setPaused } from '../../../engine/runs.ts';
import { scheduleDag } from '../../../engine/scheduler.ts';
import { redisUrl, uniquePrefix } from '../../support/db.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const hourly = defineDag({
  id: 'hourly',
  schedule: { cron: '0 * * * *', timezone: 'UTC' },
  catchup: true,
  maxActiveRuns: 2,
  startDate: '2025-05-13T00:00:00Z',
  tasks: { only: { kind: 'noop' } },
});
const latestOnly = defineDag({
  id: 'latest_only',
  schedule: { cron: '0 6 * * *', timezone: 'Europe/London' },
  catchup: false,
  startDate: '2025-05-01',
  tasks: { only: { kind: 'noop' } },
});

describe('scheduler', () => {
  let t: TestEngine;
  beforeAll(async () => {
    // No workers: runs stay where the scheduler put them, so counts are exact.
    t = await startTestEngine({ backend: 'redis', dags: [hourly, latestOnly], workers: false });
  });
  afterAll(async () => t?.close());

  const runs = async (dagId: string) =>
    (
      await t.database.pool.query<{ logical_date: Date; state: string; run_type: string }>(
        'SELECT logical_date, state, run_type FROM dag_runs WHERE dag_id = $1 ORDER BY logical_date',
        [dagId],
      )
    ).rows;

  it('catch-up creates every missed interval once, oldest first, starting only maxActiveRuns', async () => {
    const dag = t.dags.get('hourly')!;
    // Down from 00:00 to 05:30 → ticks 00:00 … 05:00 are due: exactly 6 runs.
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, dag, new Date('2025-05-13T05:30:00Z'))).toBe(6);
    const created = await runs('hourly');
    expect(created.map((r) => r.logical_date.toISOString())).toEqual(
      [0, 1, 2, 3, 4, 5].map((h) => `2025-05-13T0${h}:00:00.000Z`),
    );
    expect(created.map((r) => r.state)).toEqual(['running', 'running', 'queued', 'queued', 'queued', 'queued']);
    // Two hours later: exactly the two new ticks, nothing twice.
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, dag, new Date('2025-05-13T07:00:00Z'))).toBe(2);
    expect(await runs('hourly')).toHaveLength(8);
  });

  it('catchup=false creates only the latest missed run, at 06:00 London time', async () => {
    const dag = t.dags.get('latest_only')!;
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, dag, new Date('2025-05-20T12:00:00Z'))).toBe(1);
    const created = await runs('latest_only');
    expect(created.map((r) => r.logical_date.toISOString())).toEqual(['2025-05-20T05:00:00.000Z']); // 06:00 BST
  });

  it('two schedulers at once create each run exactly once', async () => {
    const dag = defineDag({ ...hourly, id: 'hourly' });
    const second = new Engine({
      databaseUrl: t.database.url, queueBackend: 'redis', redisUrl: redisUrl(), queuePrefix: uniquePrefix('tq'),
      dags: t.dags, kinds: t.kinds, log: pino({ level: 'silent' }),
    });
    try {
      const now = new Date('2025-05-13T20:00:00Z');
      const compiled = t.dags.get(dag.id)!;
      const counts = await Promise.all([
        scheduleDag(t.engine.pool, t.engine.dispatcher, compiled, now),
        scheduleDag(second.pool, second.dispatcher, compiled, now),
        scheduleDag(second.pool, second.dispatcher, compiled, now),
      ]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(13); // 08:00 … 20:00
      const all = await runs('hourly');
      expect(all).toHaveLength(21);
      expect(new Set(all.map((r) => r.logical_date.getTime())).size).toBe(21);
      const stored = await t.database.pool.query<{ p: Date }>(`SELECT last_scheduled_at AS p FROM dags WHERE dag_id = 'hourly'`);
      expect(stored.rows[0].p.toISOString()).toBe('2025-05-13T20:00:00.000Z'); // the schedule's progress, once
    } finally {
      await second.close();
    }
  });

  it('a paused DAG creates nothing; unpaused it catches up', async () => {
    const dag = t.dags.get('hourly')!;
    await setPaused(t.engine.pool, 'hourly', true);
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, dag, new Date('2025-05-13T23:00:00Z'))).toBe(0);
    expect(await runs('hourly')).toHaveLength(21);
    await setPaused(t.engine.pool, 'hourly', false);
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, dag, new Date('2025-05-13T23:00:00Z'))).toBe(3);
  });

  it('backfill creates one run per day, existing runs untouched', async () => {
    const dag = t.dags.get('latest_only')!;
    const dates = planBackfill(dag, '2025-05-18', '2025-05-21', { maxRuns: 1000, confirmed: false });
    const results = await backfill(t.engine.pool, t.engine.dispatcher, dag, dates);
    expect(results.map((r) => r.created)).toEqual([true, true, false, true]); // the 20th came from the scheduler
    const all = await runs('latest_only');
    expect(all.map((r) => r.run_type)).toEqual(['backfill', 'backfill', 'scheduled', 'backfill']);
    expect(all.filter((r) => r.state === 'running')).toHaveLength(1); // maxActiveRuns 1, no workers
  });
});
