/**
 * Mapped children run in slices (engine/sql/slice.sql): only the first child of each of the 64
 * slices gets a queue job at the expand; a child's end takes the next child of its slice in the
 * same transaction (or returns its job), and only a slice's last child settles the parent. A
 * child that does not succeed passes its slice on at once; the sweeper leaves a child waiting its
 * turn alone, and enqueues it once its predecessor is over. A task with a priority is not sliced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { claimAndBegin, commitTry, endTry } from '../../../engine/transitions.ts';
import type { Claimed } from '../../../engine/try-sql.ts';
import type { JobKind, Json } from '../../../engine/types.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../../support/engine.ts';

const CHILDREN = 150; // slices 0–21 hold three children (i, i + 64, i + 128), the others two
const items = Array.from({ length: CHILDREN }, (_, i) => i);
const sliced = defineDag({
  id: 'sliced',
  maxActiveRuns: 20,
  tasks: {
    list: { kind: 'noop', options: { result: items } },
    each: { kind: 'effect', upstream: ['list'], mapOver: { task: 'list' } },
    after: { kind: 'noop', upstream: ['each'] },
  },
});
const urgent = defineDag({
  id: 'urgent',
  maxActiveRuns: 20,
  tasks: {
    list: { kind: 'noop', options: { result: items } },
    each: { kind: 'noop', upstream: ['list'], mapOver: { task: 'list' }, priority: 2 },
  },
});
/** Slices of 17–18 children: longer than the lane one delivery claims (16), so a lane's last child hands the slice on. */
const FLAKY_CHILDREN = 1_100;
const flaky = defineDag({
  id: 'flaky_map',
  tasks: {
    list: { kind: 'noop', options: { result: Array.from({ length: FLAKY_CHILDREN }, (_, i) => i) } },
    each: { kind: 'flaky', upstream: ['list'], mapOver: { task: 'list' }, retries: 1, retryDelayMs: 600_000, options: { succeedOnTry: 2 } },
  },
});

/** Changes its copy of the upstream results: the next child of its slice must not see that. */
const mutating: JobKind = {
  name: 'mutating',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    const list = ctx.upstream.list as Json[];
    list.push('changed by a sibling');
    return list.length;
  },
};
const mutated = defineDag({
  id: 'mutated',
  tasks: {
    list: { kind: 'noop', options: { result: items } },
    each: { kind: 'mutating', upstream: ['list'], mapOver: { task: 'list' } },
  },
});

/** Holds child 0 until the gate opens (at most 20 s), so its lane can be looked at while it runs. */
const gate = { open: false, holding: false };
const gatedKind: JobKind = {
  name: 'gated',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    if (ctx.mapIndex === 0) {
      gate.holding = true;
      for (let i = 0; !gate.open && i < 1_000; i++) await new Promise((r) => setTimeout(r, 20));
    }
    return ctx.mapIndex ?? null;
  },
};
const gated = defineDag({
  id: 'gated',
  tasks: {
    list: { kind: 'noop', options: { result: items } },
    each: { kind: 'gated', upstream: ['list'], mapOver: { task: 'list' } },
  },
});

const ok = { state: 'success' as const, error: null, code: null, lines: [] };
let day = 0;
const nextDate = () => `2025-04-${String(++day).padStart(2, '0')}`;

async function instance(t: TestEngine, runId: number, taskId: string, mapIndex = -1) {
  const { rows } = await t.database.pool.query<{ id: number; try_number: number; state: string }>(
    'SELECT id, try_number, state FROM task_instances WHERE run_id = $1 AND task_id = $2 AND map_index = $3', [runId, taskId, mapIndex]);
  return rows[0];
}

async function claim(t: TestEngine, client: pg.PoolClient, runId: number, taskId: string, mapIndex = -1): Promise<Claimed> {
  const i = await instance(t, runId, taskId, mapIndex);
  const [claimed] = await claimAndBegin(client, i.id, i.try_number, 'test-worker', 30_000);
  if (!claimed) throw new Error(`${taskId}[${mapIndex}] was not claimable`);
  return claimed;
}

/** Triggers a run and ends its `list` by hand: the job ids its expand returned. */
async function expanded(t: TestEngine, dagId: string): Promise<{ runId: number; jobIds: string[] }> {
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag(dagId), { date: nextDate() });
  const client = await t.engine.pool.connect();
  try {
    const list = await claim(t, client, runId, 'list');
    const ended = await endTry(client, list, { ...ok, result: items });
    await commitTry(client);
    return { runId, jobIds: (ended?.jobs ?? []).map((j) => j.jobId) };
  } finally {
    client.release();
  }
}

describe('map slices: the statements', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: [sliced, urgent], workers: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the expand enqueues the first child of each slice only, every child of a task with a priority', async () => {
    const { runId, jobIds } = await expanded(t, 'sliced');
    expect(jobIds).toEqual(items.slice(0, 64).map((i) => `r${runId}-each-m${i}-t1`));
    const { rows } = await t.database.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index >= 0 AND state = 'queued'", [runId]);
    expect(rows[0].n).toBe(CHILDREN);
    const prioritized = await expanded(t, 'urgent');
    expect(prioritized.jobIds).toHaveLength(CHILDREN);
  });

  it("a child's end takes the next child of its slice, or returns its job; the slice's last child settles", async () => {
    const { runId } = await expanded(t, 'sliced');
    const client = await t.engine.pool.connect();
    try {
      const first = await claim(t, client, runId, 'each', 5);
      const take = { queue: 'effect', worker: 'test-worker', leaseMs: 30_000 };
      const handed = await endTry(client, first, { ...ok, result: 5, take });
      expect(handed).toMatchObject({ jobs: [], settle: null, next: { map_index: 69, attempt: 1, upstream: { list: items } } });
      await commitTry(client, { begin: true });
      expect((await instance(t, runId, 'each', 69)).state).toBe('running');
      // Without `take` (HANDOVER_MAX reached, the worker stopping) the next child's job is returned.
      const second = handed?.next as Claimed;
      const passed = await endTry(client, second, { ...ok, result: 69 });
      expect(passed).toMatchObject({ jobs: [{ jobId: `r${runId}-each-m133-t1` }], settle: null, next: null });
      await commitTry(client);
      // 133 + 64 is past the last child: the slice is done, and its last child settles the parent.
      const last = await claim(t, client, runId, 'each', 133);
      const settled = await endTry(client, last, { ...ok, result: 133, take });
      expect(settled).toMatchObject({ jobs: [], settle: (await instance(t, runId, 'each')).id, next: null });
      await commitTry(client, { settle: settled?.settle });
    } finally {
      client.release();
    }
    // Never a prioritized task's sibling: each of its children has its own job.
    const prioritized = await expanded(t, 'urgent');
    const other = await t.engine.pool.connect();
    try {
      const child = await claim(t, other, prioritized.runId, 'each', 0);
      const ended = await endTry(other, child, { ...ok, result: 0, take: { queue: 'noop', worker: 'test-worker', leaseMs: 30_000 } });
      expect(ended).toMatchObject({ jobs: [], next: null });
      await commitTry(other, { settle: ended?.settle });
    } finally {
      other.release();
    }
    expect((await instance(t, prioritized.runId, 'each', 64)).state).toBe('queued');
  });

  it("a delivery's claim takes up to `take` next children of its slice with it, each with its own attempt, sharing the upstream results", async () => {
    const { runId } = await expanded(t, 'sliced');
    const lane = async (mapIndex: number, take: number, dagRun = runId) => {
      const client = await t.engine.pool.connect();
      try {
        const i = await instance(t, dagRun, 'each', mapIndex);
        const claims = await claimAndBegin(client, i.id, i.try_number, 'test-worker', 30_000, take);
        await client.query('ROLLBACK'); // the claim committed on its own; this is the try's empty transaction
        return claims;
      } finally {
        client.release();
      }
    };
    const states = async (indexes: number[], dagRun = runId) => (await t.database.pool.query<{ map_index: number; state: string; worker: string | null; attempt: number }>(
      "SELECT map_index, state, worker, attempt FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = ANY($2) ORDER BY map_index", [dagRun, indexes])).rows;
    const three = await lane(3, 15); // slice 3 holds 3, 67 and 131
    expect(three.map((c) => [c.map_index, c.attempt, c.upstream])).toEqual([[3, 1, { list: items }], [67, 1, { list: items }], [131, 1, { list: items }]]);
    expect(await states([3, 67, 131])).toEqual([3, 67, 131].map((m) => ({ map_index: m, state: 'running', worker: 'test-worker', attempt: 1 })));
    const { rows } = await t.database.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 AND ti.map_index IN (3, 67, 131) AND a.state = 'running'", [runId]);
    expect(rows[0].n).toBe(3);
    expect((await lane(4, 1)).map((c) => c.map_index)).toEqual([4, 68]); // no more than `take`
    expect((await lane(5, 0)).map((c) => c.map_index)).toEqual([5]);
    expect(await states([132, 69])).toEqual([{ map_index: 69, state: 'queued', worker: null, attempt: 0 }, { map_index: 132, state: 'queued', worker: null, attempt: 0 }]);
    expect(await lane(3, 15)).toEqual([]); // running under a live lease: nothing claimed, siblings left as they were
    // A task with a priority is not sliced: its child comes alone.
    const prioritized = await expanded(t, 'urgent');
    expect((await lane(0, 15, prioritized.runId)).map((c) => c.map_index)).toEqual([0]);
    expect(await states([64], prioritized.runId)).toEqual([{ map_index: 64, state: 'queued', worker: null, attempt: 0 }]);
  });

  it('a sibling taken shares the upstream results only while their rows are unchanged', async () => {
    const { runId } = await expanded(t, 'sliced');
    const client = await t.engine.pool.connect();
    try {
      const take = { queue: 'effect', worker: 'test-worker', leaseMs: 30_000 };
      const first = await claim(t, client, runId, 'each', 7);
      const same = await endTry(client, first, { ...ok, result: 7, take });
      expect(same?.next?.upstream).toBe(first.upstream);
      await commitTry(client, { begin: true });
      // The upstream row changes (an operator's edit) after child 71's claim: 135 reads it again.
      await t.database.pool.query(`UPDATE task_instances SET result = '["edited"]' WHERE run_id = $1 AND task_id = 'list'`, [runId]);
      const second = same?.next as Claimed;
      const fresh = await endTry(client, second, { ...ok, result: 71, take });
      expect(fresh?.next).toMatchObject({ map_index: 135, upstream: { list: ['edited'] } });
      expect(fresh?.next?.upstream_key).not.toBe(second.upstream_key);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('the sweeper leaves a child waiting for its predecessor alone, and enqueues it once that one is over', async () => {
    const { runId } = await expanded(t, 'sliced');
    const due = async () => (await t.database.pool.query<{ job_id: string }>('SELECT job_id FROM trib_sweep_due(0)')).rows.map((r) => r.job_id);
    const waiting = `r${runId}-each-m70-t1`;
    expect(await due()).toContain(`r${runId}-each-m6-t1`); // the slice's first child: its job is checked
    expect(await due()).not.toContain(waiting);
    const client = await t.engine.pool.connect();
    try {
      const child = await claim(t, client, runId, 'each', 6);
      await client.query('COMMIT'); // its worker dies after the claim: still active, 70 still waits
      expect(await due()).not.toContain(waiting);
      await client.query('BEGIN');
      expect(await endTry(client, child, { ...ok, result: 6 })).not.toBeNull();
      await client.query('COMMIT'); // ended, and its worker died before it enqueued child 70
    } finally {
      client.release();
    }
    expect(await due()).toContain(waiting);
    expect(await due()).not.toContain(`r${runId}-each-m134-t1`);
  });
});

for (const backend of BACKENDS) {
  describe(`map slices: workers (${backend})`, () => {
    let t: TestEngine;
    beforeAll(async () => {
      t = await startTestEngine({ backend, dags: [sliced, flaky, mutated, gated], kinds: [mutating, gatedKind], concurrency: 2 });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('every child runs once, in effect, with one queue job per slice', async () => {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('sliced'), { date: nextDate() });
      expect(await t.waitForRun(runId)).toBe('success');
      const { rows } = await t.database.pool.query<{ n: number; children: number }>(
        "SELECT count(*)::int AS n, count(DISTINCT map_index)::int AS children FROM effects WHERE run_id = $1 AND task_id = 'each'", [runId]);
      expect(rows[0]).toEqual({ n: CHILDREN, children: CHILDREN });
      const parent = await t.database.pool.query<{ result: unknown[] }>("SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = -1", [runId]);
      expect(parent.rows[0].result.map((r) => (r as { item: number }).item)).toEqual(items);
      let jobs = 0;
      for (const i of items) if (await t.engine.backend.queue('effect').getJob(`r${runId}-each-m${i}-t1`)) jobs++;
      expect(jobs).toBe(64);
    });

    it("a delivery claims its slice's next children with its first: they run under its worker while that one still runs", async () => {
      Object.assign(gate, { open: false, holding: false });
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('gated'), { date: nextDate() });
      for (let i = 0; !gate.holding && i < 500; i++) await new Promise((r) => setTimeout(r, 20));
      const { rows } = await t.database.pool.query<{ state: string; worker: string }>(
        "SELECT state, worker FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index IN (0, 64, 128) ORDER BY map_index", [runId]);
      gate.open = true;
      expect(rows.map((r) => r.state)).toEqual(['running', 'running', 'running']);
      expect(new Set(rows.map((r) => r.worker)).size).toBe(1);
      expect(await t.waitForRun(runId)).toBe('success');
      const attempts = await t.database.pool.query<{ n: number; children: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT ti.id)::int AS children FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
         WHERE ti.run_id = $1 AND ti.task_id = 'each' AND ti.map_index >= 0`, [runId]);
      expect(attempts.rows[0]).toEqual({ n: CHILDREN, children: CHILDREN });
    });

    it("a handler's changes to its upstream results reach no sibling", async () => {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('mutated'), { date: nextDate() });
      expect(await t.waitForRun(runId)).toBe('success');
      const { rows } = await t.database.pool.query<{ result: number[] }>("SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = -1", [runId]);
      expect(rows[0].result).toEqual(items.map(() => CHILDREN + 1));
    });

    it("a child that fails passes its slice on at once: its successor does not wait for the retry", async () => {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('flaky_map'), { date: nextDate() });
      const retrying = async () => (await t.database.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index >= 0 AND state = 'up_for_retry'", [runId])).rows[0].n;
      const deadline = Date.now() + 20_000;
      while ((await retrying()) < FLAKY_CHILDREN && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await retrying()).toBe(FLAKY_CHILDREN); // each slice's 17th and 18th children failed too, 10 minutes before any retry
    });
  });
}
