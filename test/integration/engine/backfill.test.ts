/**
 * Backfill over cron ticks against real Postgres: hourly → 24 runs a day, Monday-only → one a
 * week at its tick, DST days in New York → 23 and 25 runs; idempotent by (dag_id, logical_date).
 * Local times are read back with Postgres's own time zone rules (AT TIME ZONE), not our code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { backfill, planBackfill } from '../../../engine/operations.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const hourly = defineDag({
  id: 'bf_hourly', schedule: { cron: '0 * * * *', timezone: 'UTC' }, maxActiveRuns: 3, tasks: { only: { kind: 'noop' } },
});
const mondays = defineDag({
  id: 'bf_mondays', schedule: { cron: '0 6 * * 1', timezone: 'Europe/London' }, tasks: { only: { kind: 'noop' } },
});
const newYork = defineDag({
  id: 'bf_new_york', schedule: { cron: '0 * * * *', timezone: 'America/New_York' }, tasks: { only: { kind: 'noop' } },
});

describe('backfill', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: [hourly, mondays, newYork], workers: false });
  });
  afterAll(async () => t?.close());

  const run = async (dagId: string, from: string, to: string) => {
    const dag = t.dags.get(dagId)!;
    return backfill(t.engine.pool, t.engine.dispatcher, dag, planBackfill(dag, from, to, { maxRuns: 1000, confirmed: false }));
  };

  it('an hourly DAG gets 24 runs a day, each with a one-hour interval, within maxActiveRuns; again creates none', async () => {
    const results = await run('bf_hourly', '2025-05-12', '2025-05-13');
    expect(results.filter((r) => r.created)).toHaveLength(48);
    const { rows } = await t.database.pool.query<{ hours: number; n: number; distinct_hours: number; running: number; one_hour: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT date_trunc('hour', logical_date))::int AS distinct_hours,
         count(*) FILTER (WHERE state = 'running')::int AS running,
         count(*) FILTER (WHERE interval_end - logical_date = interval '1 hour' AND date_trunc('hour', logical_date) = logical_date)::int AS one_hour,
         min(logical_date) = '2025-05-12T00:00:00Z' AND max(logical_date) = '2025-05-13T23:00:00Z' AS hours
       FROM dag_runs WHERE dag_id = 'bf_hourly' AND run_type = 'backfill'`,
    );
    expect(rows[0]).toEqual({ n: 48, distinct_hours: 48, running: 3, one_hour: 48, hours: true });
    const again = await run('bf_hourly', '2025-05-13', '2025-05-13');
    expect(again.filter((r) => r.created)).toHaveLength(0);
    expect(again).toHaveLength(24);
  });

  it('a Monday-only DAG gets one run a week at 06:00 London time and no off-schedule midnights', async () => {
    const results = await run('bf_mondays', '2025-05-01', '2025-05-31');
    expect(results.filter((r) => r.created)).toHaveLength(4);
    const { rows } = await t.database.pool.query<{ local: string }>(
      `SELECT to_char(logical_date AT TIME ZONE 'Europe/London', 'Dy YYYY-MM-DD HH24:MI') AS local
       FROM dag_runs WHERE dag_id = 'bf_mondays' ORDER BY logical_date`,
    );
    expect(rows.map((r) => r.local)).toEqual(['Mon 2025-05-05 06:00', 'Mon 2025-05-12 06:00', 'Mon 2025-05-19 06:00', 'Mon 2025-05-26 06:00']);
  });

  it('an hourly DAG in New York gets 23 runs on the spring DST day and 25 on the autumn one', async () => {
    await run('bf_new_york', '2025-03-09', '2025-03-09');
    await run('bf_new_york', '2025-11-02', '2025-11-02');
    const { rows } = await t.database.pool.query<{ day: string; n: number; distinct_instants: number }>(
      `SELECT to_char(logical_date AT TIME ZONE 'America/New_York', 'YYYY-MM-DD') AS day, count(*)::int AS n,
         count(DISTINCT logical_date)::int AS distinct_instants
       FROM dag_runs WHERE dag_id = 'bf_new_york' GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { day: '2025-03-09', n: 23, distinct_instants: 23 },
      { day: '2025-11-02', n: 25, distinct_instants: 25 },
    ]);
  });
});
