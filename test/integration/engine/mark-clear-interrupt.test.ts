/**
 * `mark` and `clear` close what they interrupt: a try a real worker is running when an operator
 * marks or clears its task ends 'interrupted' (try and attempt rows, with an end time) in the same
 * transaction, and the worker's own end later loses its compare-and-set — nothing its body wrote
 * commits and the task keeps the operator's state. `mark` with a map index marks that child only.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { z } from 'zod';
import { startDashboard } from '../../../dashboard/server.ts';
import { defineDag } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { clearTasks, markTask, triggerRun } from '../../../engine/operations.ts';
import type { JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

/** Where a held try waits: `reached` once its body has written and is waiting; `open()` lets it end. */
class Gate {
  arrive!: () => void;
  open!: () => void;
  readonly reached = new Promise<void>((r) => (this.arrive = r));
  readonly opened = new Promise<void>((r) => (this.open = r));
}
const gates = new Map<string, Gate>();
const gate = (key: string): Gate => gates.get(key) ?? gates.set(key, new Gate()).get(key)!;
/** key → which side of its afterCommit hooks a try ran. */
const hooks = new Map<string, 'commit' | 'rollback'>();

/**
 * Writes an `effects` row labelled `<gate>:<map index>:<try>`, registers hooks, and — on its first
 * try only — waits at its gate; then returns, or throws a retryable error when `fail`.
 */
const held: JobKind<{ gate: string; fail: boolean }> = {
  name: 'held',
  options: z.object({ gate: z.string(), fail: z.boolean().default(false) }),
  async handler(ctx, options) {
    const key = `${options.gate}:${ctx.mapIndex}:${ctx.tryNumber}`;
    await ctx.client.query('INSERT INTO effects (run_id, task_id, map_index, label) VALUES ($1, $2, $3, $4)', [ctx.runId, ctx.taskId, ctx.mapIndex, key]);
    ctx.afterCommit(() => hooks.set(key, 'commit'), () => hooks.set(key, 'rollback'));
    if (ctx.tryNumber === 1) {
      gate(key).arrive();
      await gate(key).opened;
    }
    if (options.fail) throw new TributaryError('TASK_FAILED', 'planted failure after the mark');
    return { key };
  },
};

/** A sensor that is never satisfied: each poke re-schedules it a minute later. */
const waiter: JobKind<Record<string, never>> = {
  name: 'waiter',
  options: z.object({}).prefault({}),
  handler: async () => ({ reschedule: { delayMs: 60_000 } }),
};

const dags = [
  defineDag({ id: 'mark_ok', tasks: { work: { kind: 'held', options: { gate: 'mark_ok' } }, after: { kind: 'effect', upstream: ['work'] } } }),
  defineDag({ id: 'mark_fail', tasks: { work: { kind: 'held', options: { gate: 'mark_fail', fail: true }, retries: 1, retryDelayMs: 10 } } }),
  defineDag({ id: 'waiting', tasks: { wait: { kind: 'waiter' } } }),
  defineDag({ id: 'clear_run', tasks: { work: { kind: 'held', options: { gate: 'clear_run' } } } }),
  defineDag({
    id: 'mapped',
    tasks: {
      list: { kind: 'noop', options: { result: [0, 1, 2] } },
      each: { kind: 'held', options: { gate: 'mapped' }, upstream: ['list'], mapOver: { task: 'list' } },
    },
  }),
  defineDag({
    id: 'mapped_api',
    tasks: {
      list: { kind: 'noop', options: { result: [0, 1, 2] } },
      each: { kind: 'held', options: { gate: 'mapped_api' }, upstream: ['list'], mapOver: { task: 'list' } },
    },
  }),
  defineDag({
    id: 'mapped_clear',
    tasks: {
      list: { kind: 'noop', options: { result: [0, 1, 2] } },
      each: { kind: 'held', options: { gate: 'mapped_clear' }, upstream: ['list'], mapOver: { task: 'list' } },
    },
  }),
];

interface Row { map_index: number; try_number: number; attempt?: number; state: string; ended: boolean; error: string | null }

describe('mark and clear close what they interrupt', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags, kinds: [held as JobKind, waiter as JobKind] });
  });
  // A test that failed before opening its gates must not keep the next test's workers busy.
  afterEach(() => {
    for (const g of gates.values()) g.open();
  });
  afterAll(async () => {
    await t?.close();
  });

  const q = async <R,>(sql: string, values: unknown[]): Promise<R[]> => (await t.database.pool.query(sql, values)).rows as R[];
  const tries = (runId: number, taskId: string) => q<Row>(
    `SELECT ti.map_index, tt.try_number, tt.state, tt.ended_at IS NOT NULL AS ended, tt.error
     FROM task_tries tt JOIN task_instances ti ON ti.id = tt.task_instance_id
     WHERE ti.run_id = $1 AND ti.task_id = $2 ORDER BY ti.map_index, tt.try_number`, [runId, taskId]);
  const attempts = (runId: number, taskId: string) => q<Row>(
    `SELECT ti.map_index, a.try_number, a.attempt, a.state, a.ended_at IS NOT NULL AS ended, a.error
     FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
     WHERE ti.run_id = $1 AND ti.task_id = $2 ORDER BY ti.map_index, a.try_number, a.attempt`, [runId, taskId]);
  const labels = async (runId: number, taskId: string) =>
    (await q<{ label: string }>('SELECT label FROM effects WHERE run_id = $1 AND task_id = $2 ORDER BY label', [runId, taskId])).map((r) => r.label);
  const instance = async (runId: number, taskId: string, mapIndex = -1) =>
    (await q<{ state: string; try_number: number; error: string | null }>(
      'SELECT state, try_number, error FROM task_instances WHERE run_id = $1 AND task_id = $2 AND map_index = $3', [runId, taskId, mapIndex]))[0];

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`still not ${what} after 15 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits until the BullMQ job of a try has finished: the worker's end has run (won or lost). */
  async function jobFinished(queue: string, jobId: string): Promise<void> {
    await until(`finished: job ${jobId}`, async () => {
      const state = await (await t.engine.backend.queue(queue).getJob(jobId))?.getState();
      return state === 'completed' || state === 'failed';
    });
  }

  const interrupted = (mapIndex: number, tryNumber: number, reason: RegExp) =>
    expect.objectContaining({ map_index: mapIndex, try_number: tryNumber, state: 'interrupted', ended: true, error: expect.stringMatching(reason) });

  it('mark success of a running try: try and attempt end interrupted; the worker\'s end commits nothing', async () => {
    const dag = t.dags.get('mark_ok')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' });
    await gate('mark_ok:-1:1').reached;
    expect(await attempts(runId, 'work')).toEqual([expect.objectContaining({ state: 'running', ended: false })]);

    expect(await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'work', 'success')).toEqual({ marked: 1, interrupted: 1 });
    expect(await tries(runId, 'work')).toEqual([interrupted(-1, 1, /^interrupted: marked success by operator$/)]);
    expect(await attempts(runId, 'work')).toEqual([interrupted(-1, 1, /^interrupted: marked success by operator$/)]);

    gate('mark_ok:-1:1').open();
    await jobFinished('held', `r${runId}-work-m-1-t1`);
    expect(hooks.get('mark_ok:-1:1')).toBe('rollback');
    expect(await t.waitForRun(runId)).toBe('success');
    expect(await labels(runId, 'work')).toEqual([]);
    expect(await labels(runId, 'after')).toHaveLength(1);
    expect(await instance(runId, 'work')).toMatchObject({ state: 'success', try_number: 1 });
    expect(await tries(runId, 'work')).toEqual([interrupted(-1, 1, /marked success/)]);
    expect(await attempts(runId, 'work')).toEqual([interrupted(-1, 1, /marked success/)]);
  });

  it('a marked try whose body then fails: its retry loses the compare-and-set too', async () => {
    const dag = t.dags.get('mark_fail')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' });
    await gate('mark_fail:-1:1').reached;
    expect(await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'work', 'success')).toEqual({ marked: 1, interrupted: 1 });
    gate('mark_fail:-1:1').open();
    await jobFinished('held', `r${runId}-work-m-1-t1`);
    expect(await t.waitForRun(runId)).toBe('success');
    expect(await instance(runId, 'work')).toMatchObject({ state: 'success', try_number: 1, error: null });
    expect(await tries(runId, 'work')).toEqual([interrupted(-1, 1, /marked success/)]);
    expect(await attempts(runId, 'work')).toEqual([interrupted(-1, 1, /marked success/)]);
    expect(await labels(runId, 'work')).toEqual([]);
  });

  it('mark of a sensor waiting between pokes (queued, with a try): its try ends interrupted; the next poke claims nothing', async () => {
    const dag = t.dags.get('waiting')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' });
    const nextPoke = `r${runId}-wait-m-1-t1-p1`;
    await until('waiting for its next poke', async () => (await t.engine.backend.queue('waiter').getJob(nextPoke)) !== undefined);
    expect(await instance(runId, 'wait')).toMatchObject({ state: 'queued', try_number: 1 });
    expect(await tries(runId, 'wait')).toEqual([expect.objectContaining({ state: 'running', ended: false })]);

    expect(await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'wait', 'success')).toEqual({ marked: 1, interrupted: 1 });
    expect(await tries(runId, 'wait')).toEqual([interrupted(-1, 1, /^interrupted: marked success by operator$/)]);
    expect(await t.waitForRun(runId)).toBe('success');

    await (await t.engine.backend.queue('waiter').getJob(nextPoke))!.promote();
    await jobFinished('waiter', nextPoke);
    expect(await instance(runId, 'wait')).toMatchObject({ state: 'success', try_number: 1 });
    expect(await tries(runId, 'wait')).toEqual([interrupted(-1, 1, /marked success/)]);
    expect(await attempts(runId, 'wait')).toEqual([]); // a poke is not an attempt of its own; the promoted one claimed nothing
  });

  it('clear of a running try: it ends interrupted, the next try runs, the old worker commits nothing', async () => {
    const dag = t.dags.get('clear_run')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' });
    await gate('clear_run:-1:1').reached;

    expect(await clearTasks(t.engine.pool, t.engine.dispatcher, dag, runId, 'work', false)).toEqual(['work']);
    // Try 2 may be running already: look at try 1.
    const first = (rows: Row[]) => rows.filter((r) => r.try_number === 1);
    expect(first(await tries(runId, 'work'))).toEqual([interrupted(-1, 1, /^interrupted: cleared by operator$/)]);
    expect(first(await attempts(runId, 'work'))).toEqual([interrupted(-1, 1, /^interrupted: cleared by operator$/)]);

    expect(await t.waitForRun(runId)).toBe('success'); // try 2 is not held
    gate('clear_run:-1:1').open();
    await jobFinished('held', `r${runId}-work-m-1-t1`);
    expect(hooks.get('clear_run:-1:1')).toBe('rollback');
    expect(hooks.get('clear_run:-1:2')).toBe('commit');
    expect(await labels(runId, 'work')).toEqual(['clear_run:-1:2']);
    expect(await instance(runId, 'work')).toMatchObject({ state: 'success', try_number: 2 });
    expect(await tries(runId, 'work')).toEqual([
      interrupted(-1, 1, /cleared/),
      expect.objectContaining({ try_number: 2, state: 'success', ended: true }),
    ]);
    expect(await attempts(runId, 'work')).toEqual([
      interrupted(-1, 1, /cleared/),
      expect.objectContaining({ try_number: 2, attempt: 1, state: 'success', ended: true }),
    ]);
  });

  it('mark with a map index marks that child only; the parent closes from its children; without one, all', async () => {
    const dag = t.dags.get('mapped')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' });
    await Promise.all([0, 1, 2].map((i) => gate(`mapped:${i}:1`).reached));

    const missing = await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'each', 'failed', 7).catch((e: TributaryError) => e);
    expect(missing).toMatchObject({ code: 'TASK_NOT_FOUND', message: `run ${runId} has no map index 7 of task "each"` });

    expect(await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'each', 'failed', 1)).toEqual({ marked: 1, interrupted: 1 });
    expect(await t.taskStates(runId)).toEqual({ list: 'success', each: 'mapped', 'each[0]': 'running', 'each[1]': 'failed', 'each[2]': 'running' });
    expect((await tries(runId, 'each')).map((r) => r.state)).toEqual(['running', 'interrupted', 'running']);
    expect((await attempts(runId, 'each')).map((r) => r.state)).toEqual(['running', 'interrupted', 'running']);

    for (const i of [0, 1, 2]) gate(`mapped:${i}:1`).open();
    await Promise.all([0, 1, 2].map((i) => jobFinished('held', `r${runId}-each-m${i}-t1`)));
    expect(await t.waitForRun(runId)).toBe('failed');
    expect(await t.taskStates(runId)).toEqual({ list: 'success', each: 'failed', 'each[0]': 'success', 'each[1]': 'failed', 'each[2]': 'success' });
    expect(await instance(runId, 'each')).toMatchObject({ error: '1 of 3 mapped instances failed' });
    expect(hooks.get('mapped:1:1')).toBe('rollback');
    expect(await labels(runId, 'each')).toEqual(['mapped:0:1', 'mapped:2:1']);
    expect((await tries(runId, 'each')).map((r) => r.state)).toEqual(['success', 'interrupted', 'success']);

    // Without a map index: the parent and every child.
    expect(await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'each', 'success')).toEqual({ marked: 4, interrupted: 0 });
    expect(await t.waitForRun(runId)).toBe('success');
    expect(await t.taskStates(runId)).toEqual({ list: 'success', each: 'success', 'each[0]': 'success', 'each[1]': 'success', 'each[2]': 'success' });
  });

  it('the API marks one child with mapIndex and says what it interrupted', async () => {
    const token = 'mark-clear-test-token-0123';
    const dashboard = await startDashboard({ engine: t.engine, port: 0, token, log: pino({ level: 'silent' }), backfillMaxRuns: 20 });
    try {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('mapped_api')!, { date: '2025-05-13' });
      await Promise.all([0, 1, 2].map((i) => gate(`mapped_api:${i}:1`).reached));
      const post = async (body: unknown) => {
        const res = await fetch(`${dashboard.url}/api/runs/${runId}/tasks/each/mark`, {
          method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
        });
        return { status: res.status, body: await res.json() as unknown };
      };
      expect((await post({ state: 'failed', mapIndex: -1 })).status).toBe(400);
      expect(await post({ state: 'failed', mapIndex: 2 })).toEqual({
        status: 200, body: { taskId: 'each', state: 'failed', mapIndex: 2, marked: 1, interrupted: 1 },
      });
      expect(await t.taskStates(runId)).toMatchObject({ each: 'mapped', 'each[0]': 'running', 'each[1]': 'running', 'each[2]': 'failed' });
      for (const i of [0, 1, 2]) gate(`mapped_api:${i}:1`).open();
      expect(await t.waitForRun(runId)).toBe('failed');
      expect(await t.taskStates(runId)).toEqual({ list: 'success', each: 'failed', 'each[0]': 'success', 'each[1]': 'success', 'each[2]': 'failed' });
    } finally {
      await dashboard.close();
    }
  });

  it('clearing upstream of a mapped task interrupts its running children; the re-expanded ones run', async () => {
    const dag = t.dags.get('mapped_clear')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' });
    await Promise.all([0, 1, 2].map((i) => gate(`mapped_clear:${i}:1`).reached));

    expect(await clearTasks(t.engine.pool, t.engine.dispatcher, dag, runId, 'list', true)).toEqual(['list', 'each']);
    // The re-expanded children (try 2) may be running already: look at try 1.
    const first = (rows: Row[]) => rows.filter((r) => r.try_number === 1).map((r) => [r.map_index, r.state, r.ended]);
    expect(first(await tries(runId, 'each'))).toEqual([0, 1, 2].map((i) => [i, 'interrupted', true]));
    expect(first(await attempts(runId, 'each'))).toEqual([0, 1, 2].map((i) => [i, 'interrupted', true]));

    for (const i of [0, 1, 2]) gate(`mapped_clear:${i}:1`).open();
    await Promise.all([0, 1, 2].map((i) => jobFinished('held', `r${runId}-each-m${i}-t1`)));
    expect(await t.waitForRun(runId)).toBe('success');
    expect([0, 1, 2].map((i) => hooks.get(`mapped_clear:${i}:1`))).toEqual(['rollback', 'rollback', 'rollback']);
    expect(await labels(runId, 'each')).toEqual(['mapped_clear:0:2', 'mapped_clear:1:2', 'mapped_clear:2:2']);
    expect((await tries(runId, 'each')).map((r) => r.state)).toEqual(['interrupted', 'success', 'interrupted', 'success', 'interrupted', 'success']);
  });
});
