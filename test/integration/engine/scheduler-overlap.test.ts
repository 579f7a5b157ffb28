/**
 * noOverlap in the cron callback: while a DAG's scheduling pass is stuck (the test holds an
 * ACCESS EXCLUSIVE lock on dag_runs), its next ticks are skipped, not piled up — Postgres shows
 * exactly one waiting statement, and each skipped tick is one warning in the scheduler's log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defineDag } from '../../../engine/dag.ts';
import { Scheduler } from '../../../engine/scheduler.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const spec = defineDag({ id: 'every_second', schedule: { cron: '* * * * *', timezone: 'UTC' }, tasks: { only: { kind: 'noop' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler noOverlap', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: [spec], workers: false });
  });
  afterAll(async () => t?.close());

  it('skips ticks while the previous pass of the DAG still runs', async () => {
    // node-cron and cron-parser take a seconds field: tick every second (DAG files allow 5 fields only).
    const dag = { ...t.dags.get(spec.id)!, schedule: { cron: '* * * * * *', timezone: 'UTC' } };
    const lines: { level: number; msg: string; dag_id?: string }[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const scheduler = new Scheduler(t.engine.pool, t.engine.dispatcher, new Map([[dag.id, dag]]), log);
    await scheduler.start();
    const waiting = async () =>
      (await t.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'dag_runs'::regclass`)).rows[0].n;
    const blocker = await t.database.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE dag_runs IN ACCESS EXCLUSIVE MODE');
      await sleep(4_000); // four ticks: the first pass blocks, the next three must be skipped
      expect(await waiting()).toBe(1);
      const skipped = lines.filter((l) => l.dag_id === dag.id && l.level === 40 && /overlap/.test(l.msg));
      expect(skipped.length).toBeGreaterThanOrEqual(2);
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    await sleep(1_500);
    await scheduler.stop();
    expect(await waiting()).toBe(0);
    const runs = await t.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = $1`, [dag.id]);
    expect(runs.rows[0].n).toBeGreaterThanOrEqual(2); // the start pass, the released pass (and later ticks)
  });
});
