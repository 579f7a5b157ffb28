/**
 * The children of a slice that one delivery runs end in batches (engine/lane-batch.ts,
 * engine/sql/end-batch.sql): a child that used neither its transaction nor an after-commit effect
 * has its end held and written with its siblings' in one COMMIT; one that used its transaction
 * ends in it, with the ends held before it; a failed sibling does not take a held end or a
 * committed write with it; a held child whose claim was taken over is not ended by the batch; a
 * child that waits (a sensor's poke) between claimed siblings hands its connection back clean; a
 * held end does not wait for a slow sibling.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { taskLogs } from '../../../dashboard/queries.ts';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { TributaryError } from '../../../engine/errors.ts';
import type { HandlerOutcome, JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const CHILDREN = 640; // ten children in each of the 64 slices: child i is at position ⌊i / 64⌋ of slice i % 64
const items = Array.from({ length: CHILDREN }, (_, i) => i);
const position = (i: number) => Math.floor(i / 64);
/** Children that write a row in their try's transaction: position 1 of even slices, and every position 4. */
const writes = (i: number) => (position(i) === 1 && i % 2 === 0) || position(i) === 4;
/** Children that fail their first try: position 2 of even slices, right after a writer. */
const failsOnce = (i: number) => position(i) === 2 && i % 2 === 0;
/** The child that takes over the claim of its slice's predecessor (held, not written yet). */
const THIEF = 133; // slice 5: 5, 69, 133, …

let pool: pg.Pool;

const mixed: JobKind = {
  name: 'mixed',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    const i = ctx.mapItem as number;
    if (writes(i)) await ctx.client.query('INSERT INTO effects (run_id, task_id, map_index, label) VALUES ($1, $2, $3, $4)', [ctx.runId, ctx.taskId, i, 'w']);
    if (failsOnce(i) && ctx.tryNumber === 1) throw new TributaryError('TASK_FAILED', `planted failure of child ${i}`);
    return { item: i };
  },
};

/** Another delivery taking over the claim of child THIEF - 64 (its attempt ended as lost, a new attempt number), on another connection. */
const thief: JobKind = {
  name: 'thief',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    const i = ctx.mapItem as number;
    if (i === THIEF) {
      await pool.query(
        `WITH taken AS (
           UPDATE task_instances SET attempt = attempt + 1 WHERE run_id = $1 AND task_id = 'each' AND map_index = $2 AND state = 'running' RETURNING id)
         UPDATE task_attempts a SET state = 'lost', ended_at = clock_timestamp() FROM taken WHERE a.task_instance_id = taken.id AND a.state = 'running'`,
        [ctx.runId, i - 64]);
    }
    return { item: i };
  },
};

/** Waits (a sensor's poke) once at position 2 of its slice, after siblings were claimed ahead of it. */
const waitsOnce: JobKind = {
  name: 'waits_once',
  options: z.object({}).prefault({}),
  async handler(ctx): Promise<HandlerOutcome> {
    const i = ctx.mapItem as number;
    if (position(i) === 2 && ctx.resumeState === undefined) return { reschedule: { delayMs: 20, state: 1 } };
    return { item: i };
  },
};

/** A slow child at position 2 of slice 2, after a held sibling (66). */
const SLOW = 130;
const slowOne: JobKind = {
  name: 'slow_one',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    if (ctx.mapItem === SLOW) await new Promise((r) => setTimeout(r, 1500));
    return { item: ctx.mapItem as number };
  },
};

const dag = (id: string, kind: string) => defineDag({
  id,
  tasks: {
    list: { kind: 'noop', options: { result: items } },
    each: { kind, upstream: ['list'], mapOver: { task: 'list' }, retries: 1, retryDelayMs: 0 },
  },
});

describe('lane batches', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: [dag('plain', 'noop'), dag('mixed', 'mixed'), dag('stolen', 'thief'), dag('waiting', 'waits_once'), dag('slow', 'slow_one')], kinds: [mixed, thief, waitsOnce, slowOne], concurrency: 4 });
    pool = t.database.pool;
  });
  afterAll(async () => {
    await t?.close();
  });

  const children = async (runId: number) => (await pool.query<{ map_index: number; state: string; try_number: number; tx: string }>(
    "SELECT map_index, state, try_number, xmin::text AS tx FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index >= 0 ORDER BY map_index", [runId])).rows;

  it('ends the children that did not use their transaction together, each with its own try, attempt and log lines', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('plain'), { date: '2025-06-01' });
    expect(await t.waitForRun(runId)).toBe('success');
    const rows = await children(runId);
    expect(rows.map((r) => r.state)).toEqual(items.map(() => 'success'));
    // Ended in far fewer transactions than children: two per slice of ten (its head's, then the batch).
    expect(new Set(rows.map((r) => r.tx)).size).toBeLessThanOrEqual(CHILDREN / 3);
    const { rows: attempts } = await pool.query<{ n: number; states: string[] }>(
      `SELECT count(*)::int AS n, array_agg(DISTINCT a.state) AS states FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.map_index >= 0`, [runId]);
    expect(attempts[0]).toEqual({ n: CHILDREN, states: ['success'] });
    const { rows: tries } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_tries tt JOIN task_instances ti ON ti.id = tt.task_instance_id
       WHERE ti.run_id = $1 AND ti.map_index >= 0 AND tt.state = 'success' AND tt.ended_at IS NOT NULL`, [runId]);
    expect(tries[0].n).toBe(CHILDREN);
    // Each child's log as `trib logs` reads it: the engine's two lines, derived from its try and attempt (none stored).
    const logs = (await taskLogs(pool, runId, 'each')).filter((l) => l.mapIndex >= 0);
    expect(items.map((_, i) => logs.filter((l) => l.mapIndex === i).map((l) => l.message))).toEqual(items.map(() => ['try started', 'try succeeded']));
    const { rows: stored } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM task_logs l JOIN task_instances ti ON ti.id = l.task_instance_id WHERE ti.run_id = $1 AND ti.map_index >= 0', [runId]);
    expect(stored[0].n).toBe(0);
    const parent = await pool.query<{ result: unknown[] }>("SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = -1", [runId]);
    expect(parent.rows[0].result).toEqual(items.map(() => ({ ok: true })));
  });

  it('a child that writes ends in its own transaction; a sibling failing after it takes neither its write nor a held end along', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('mixed'), { date: '2025-06-02' });
    expect(await t.waitForRun(runId)).toBe('success');
    const rows = await children(runId);
    expect(rows.map((r) => [r.map_index, r.state, r.try_number])).toEqual(items.map((i) => [i, 'success', failsOnce(i) ? 2 : 1]));
    const { rows: effects } = await pool.query<{ map_index: number; n: number }>(
      "SELECT map_index, count(*)::int AS n FROM effects WHERE run_id = $1 GROUP BY map_index ORDER BY map_index", [runId]);
    expect(effects).toEqual(items.filter(writes).map((i) => ({ map_index: i, n: 1 })));
    const parent = await pool.query<{ result: unknown[] }>("SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = -1", [runId]);
    expect(parent.rows[0].result).toEqual(items.map((i) => ({ item: i })));
  });

  it('a child that waits (a poke) between claimed siblings hands its connection back outside any transaction', async () => {
    // The transaction status of every connection handed back to the engine's pool (pg's ReadyForQuery status: I = idle).
    const statuses = new Set<string>();
    const onRelease = (err: unknown, client: unknown) => void (err || statuses.add(String((client as { _txStatus?: string })._txStatus)));
    t.engine.pool.on('release', onRelease);
    try {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('waiting'), { date: '2025-06-04' });
      expect(await t.waitForRun(runId)).toBe('success');
      expect((await children(runId)).map((r) => r.state)).toEqual(items.map(() => 'success'));
    } finally {
      t.engine.pool.removeListener('release', onRelease);
    }
    expect([...statuses]).toEqual(['I']);
  });

  it('a held end is written while a slow sibling after it still runs', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('slow'), { date: '2025-06-05' });
    let seen: string[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const rows = await children(runId);
      if (rows.length > SLOW) seen = [rows[SLOW - 64].state, rows[SLOW].state];
      if (seen[1] === 'success' || (seen[0] === 'success' && seen[1] === 'running')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toEqual(['success', 'running']);
    expect(await t.waitForRun(runId)).toBe('success');
  });

  it('a held child whose claim was taken over is not ended by the batch: its attempt is marked fenced', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('stolen'), { date: '2025-06-03' });
    const deadline = Date.now() + 30_000;
    let rows = await children(runId);
    while (rows.filter((r) => r.state === 'success').length < CHILDREN - 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      rows = await children(runId);
    }
    expect(rows.filter((r) => r.state !== 'success').map((r) => [r.map_index, r.state])).toEqual([[THIEF - 64, 'running']]);
    const { rows: attempts } = await pool.query<{ attempt: number; state: string; fenced: boolean }>(
      `SELECT a.attempt, a.state, a.fenced_at IS NOT NULL AS fenced FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'each' AND ti.map_index = $2`, [runId, THIEF - 64]);
    expect(attempts).toEqual([{ attempt: 1, state: 'lost', fenced: true }]);
  });
});
