/**
 * Hand-off: with maxActiveRuns 1, the transaction that ends a run starts the next queued run —
 * no sweeper runs here, so only the hand-off can move the queue — in logical-date order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../../support/engine.ts';

const serial = defineDag({
  id: 'serial',
  maxActiveRuns: 1,
  tasks: { a: { kind: 'effect', options: { sleepMs: 50 } }, b: { kind: 'effect', options: { sleepMs: 200 }, upstream: ['a'] } },
});

describe.each(BACKENDS)('run hand-off (%s)', (backend) => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend, dags: [serial] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('starts each queued run when the one before it ends, oldest first', async () => {
    const dag = t.dags.get('serial')!;
    const days = ['2025-05-13', '2025-05-11', '2025-05-12'];
    const runs = [];
    for (const day of days) runs.push((await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: day })).runId);
    for (const runId of runs) expect(await t.waitForRun(runId, 20_000)).toBe('success');
    const { rows } = await t.database.pool.query<{ day: string; started: Date; ended: Date }>(
      `SELECT to_char(logical_date AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, started_at AS started, ended_at AS ended
       FROM dag_runs ORDER BY started_at`);
    // The first trigger starts at once; the other two wait and start in logical-date order.
    expect(rows.map((r) => r.day)).toEqual(['2025-05-13', '2025-05-11', '2025-05-12']);
    for (let i = 1; i < rows.length; i++) expect(rows[i].started.getTime()).toBeGreaterThanOrEqual(rows[i - 1].ended.getTime());
  });

  it("a run ends when its last task has ended, by the clock (not at its transaction's start)", async () => {
    const { rows } = await t.database.pool.query<{ run_ended: Date; b_ended: Date; b_started: Date }>(
      `SELECT r.ended_at AS run_ended, ti.ended_at AS b_ended, ti.started_at AS b_started
       FROM dag_runs r JOIN task_instances ti ON ti.run_id = r.id AND ti.task_id = 'b'`);
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.b_ended.getTime() - r.b_started.getTime()).toBeGreaterThanOrEqual(200);
      expect(r.run_ended.getTime()).toBeGreaterThanOrEqual(r.b_ended.getTime());
    }
  });
});
