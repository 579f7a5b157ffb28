/**
 * Mapped children end without a shared lock: a child's end touches only its own rows, and after
 * its COMMIT it asks (trib_settle_map) whether it was the last. Driven statement by statement on
 * real connections: a sibling's end never waits for another child's open transaction (the old
 * countdown on the parent row did), the last child to commit closes the parent and queues what
 * follows, and when the last two commit at once the parent closes exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { claimAndBegin, commitTry, endTry } from '../../../engine/transitions.ts';
import type { Claimed } from '../../../engine/try-sql.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const fan = defineDag({
  id: 'fan',
  maxActiveRuns: 50,
  tasks: {
    list: { kind: 'noop', options: { result: ['a', 'b'] } },
    each: { kind: 'noop', upstream: ['list'], mapOver: { task: 'list' } },
    after: { kind: 'noop', upstream: ['each'] },
  },
});

let t: TestEngine;
let day = 0;
beforeAll(async () => {
  t = await startTestEngine({ backend: 'redis', dags: [fan], workers: false });
});
afterAll(async () => {
  await t?.close();
});

const ok = { state: 'success' as const, error: null, code: null, lines: [] };

async function instance(runId: number, taskId: string, mapIndex = -1) {
  const { rows } = await t.database.pool.query<{ id: number; try_number: number; state: string; result: unknown }>(
    'SELECT id, try_number, state, result FROM task_instances WHERE run_id = $1 AND task_id = $2 AND map_index = $3',
    [runId, taskId, mapIndex],
  );
  return rows[0];
}

async function claim(client: pg.PoolClient, runId: number, taskId: string, mapIndex = -1): Promise<Claimed> {
  const i = await instance(runId, taskId, mapIndex);
  const [claimed] = await claimAndBegin(client, i.id, i.try_number, 'test-worker', 30_000);
  if (!claimed) throw new Error(`${taskId}[${mapIndex}] was not claimable`);
  return claimed;
}

/** A run whose `list` has succeeded: its two children are queued. */
async function runWithChildren(): Promise<number> {
  day++;
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('fan'), { date: `2025-02-${String(day).padStart(2, '0')}` });
  const client = await t.engine.pool.connect();
  try {
    const list = await claim(client, runId, 'list');
    const ended = await endTry(client, list, { ...ok, result: ['a', 'b'] });
    expect(ended?.jobs.map((j) => j.jobId)).toEqual([`r${runId}-each-m0-t1`, `r${runId}-each-m1-t1`]);
    await commitTry(client, { settle: ended?.settle });
  } finally {
    client.release();
  }
  return runId;
}

describe('mapped children', () => {
  it("end while a sibling's transaction is open; the last to commit closes the parent", async () => {
    const runId = await runWithChildren();
    const [a, b] = [await t.engine.pool.connect(), await t.engine.pool.connect()];
    try {
      const first = await claim(a, runId, 'each', 0);
      const second = await claim(b, runId, 'each', 1);
      const firstEnd = await endTry(a, first, { ...ok, result: 'A' });
      // `a` holds its transaction open. `b` must not wait for it: 2 s is far more than an end takes.
      await b.query("SET LOCAL lock_timeout = '2s'");
      const secondEnd = await endTry(b, second, { ...ok, result: 'B' });
      expect(secondEnd?.settle).toBe((await instance(runId, 'each')).id);
      // `b` commits first: `a` is still running for it, so nothing closes yet.
      expect(await commitTry(b, { settle: secondEnd?.settle })).toEqual([]);
      expect((await instance(runId, 'each')).state).toBe('mapped');
      // `a` commits last: it sees every child ended, closes the parent and queues `after`.
      const jobs = await commitTry(a, { settle: firstEnd?.settle });
      expect(jobs.map((j) => j.jobId)).toEqual([`r${runId}-after-m-1-t1`]);
    } finally {
      a.release();
      b.release();
    }
    const parent = await instance(runId, 'each');
    expect(parent.state).toBe('success');
    expect(parent.result).toEqual(['A', 'B']);
    expect((await instance(runId, 'after')).state).toBe('queued');
  });

  it('a settle that never ran (the worker died after COMMIT) is repaired by the sweeper', async () => {
    const runId = await runWithChildren();
    const client = await t.engine.pool.connect();
    try {
      for (const mapIndex of [0, 1]) {
        const child = await claim(client, runId, 'each', mapIndex);
        expect(await endTry(client, child, { ...ok, result: mapIndex })).not.toBeNull();
        await client.query('COMMIT'); // no trib_settle_map
      }
    } finally {
      client.release();
    }
    expect((await instance(runId, 'each')).state).toBe('mapped');
    await t.engine.dispatcher.sweep(0);
    expect(await instance(runId, 'each')).toMatchObject({ state: 'success', result: [0, 1] });
    expect((await instance(runId, 'after')).state).toBe('queued');
  });

  it('two children committing at once close the parent exactly once (20 races)', async () => {
    for (let race = 0; race < 20; race++) {
      const runId = await runWithChildren();
      const [a, b] = [await t.engine.pool.connect(), await t.engine.pool.connect()];
      try {
        const ends = await Promise.all(
          [a, b].map(async (client, i) => {
            const claimed = await claim(client, runId, 'each', i);
            return { client, ended: await endTry(client, claimed, { ...ok, result: i }) };
          }),
        );
        const settled = await Promise.all(ends.map((e) => commitTry(e.client, { settle: e.ended?.settle })));
        expect(settled.flat().map((j) => j.jobId)).toEqual([`r${runId}-after-m-1-t1`]);
      } finally {
        a.release();
        b.release();
      }
      const { rows } = await t.database.pool.query<{ state: string; n: number }>(
        `SELECT state, count(*)::int AS n FROM task_instances WHERE run_id = $1 AND task_id IN ('each', 'after') AND map_index = -1 GROUP BY state ORDER BY state`,
        [runId],
      );
      expect(rows).toEqual([{ state: 'queued', n: 1 }, { state: 'success', n: 1 }]);
    }
  });
});
