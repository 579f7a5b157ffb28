/**
 * The contracts of engine/sql's transitions that no engine scenario pins, each driven through the
 * engine's own thin callers (claimAndBegin, endTry, the try statements, clear, advance, the
 * sweeper's questions) on a real database, no workers: a heartbeat renews only its own leases;
 * every delivery of a try has its own job id and the next try starts with its counters reset;
 * clear gives a fresh set of retries; advance is idempotent; a cleared mapped task expands with
 * the next try number; the sweeper never re-delivers a try under a live lease and starts the
 * queued runs of an unpaused DAG; a retry event is recorded once per try; trib_pick_path.
 * Each `it` kills an entry of test/mutations.ts (named in its title by the file it guards).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../../db/client.ts';
import { recordRetryEvent } from '../../../engine/callbacks.ts';
import { defineDag } from '../../../engine/dag.ts';
import { clearTasks, triggerRun } from '../../../engine/operations.ts';
import { setPaused } from '../../../engine/runs.ts';
import { advanceRun, claimAndBegin, endTry } from '../../../engine/transitions.ts';
import { infraRetryTry, renewLeases, rescheduleTry, retryTry, type Claimed } from '../../../engine/try-sql.ts';
import type { Json } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const dags = [
  defineDag({ id: 'single', maxActiveRuns: 50, tasks: { work: { kind: 'noop', retries: 3, onRetry: () => undefined } } }),
  defineDag({
    id: 'fan',
    tasks: {
      list: { kind: 'noop' },
      each: { kind: 'noop', upstream: ['list'], mapOver: { task: 'list' } },
    },
  }),
  defineDag({ id: 'later', tasks: { only: { kind: 'noop' } } }),
];
const LEASE_MS = 60_000;
const failure = { error: 'boom', code: 'TASK_FAILED', delayMs: 0 };
const infraFailure = { error: 'database went away', code: 'DATABASE_UNAVAILABLE', delayMs: 0 };

let t: TestEngine;
let day = 0;
beforeAll(async () => {
  t = await startTestEngine({ backend: 'postgres', dags, workers: false });
});
afterAll(async () => {
  await t?.close();
});

const query = async <R,>(sql: string, values: unknown[] = []): Promise<R[]> => (await t.database.pool.query(sql, values)).rows as R[];
const runState = async (runId: number) => (await query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId]))[0].state;
const instance = async (id: number) => (await query<{
  state: string; try_number: number; max_tries: number; attempt: number; pokes: number; lost_attempts: number;
  infra_retries: number; resume_state: Json; job_id: string; lease_until: Date;
}>('SELECT state, try_number, max_tries, attempt, pokes, lost_attempts, infra_retries, resume_state, job_id, lease_until FROM task_instances WHERE id = $1', [id]))[0];

/** A new run of `dagId`: its id, and the instance id of `taskId` (map index -1). */
async function newRun(dagId: string, taskId: string): Promise<{ runId: number; id: number }> {
  day++;
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag(dagId), { date: `2025-04-${String(day).padStart(2, '0')}` });
  const rows = await query<{ id: string }>('SELECT id FROM task_instances WHERE run_id = $1 AND task_id = $2 AND map_index = -1', [runId, taskId]);
  return { runId, id: Number(rows[0].id) };
}

/**
 * Claims `tryNumber` of `id` for `worker` on a connection of its own, runs `step` in the try's
 * transaction and commits it. The connection is closed after (its worker name is a session setting).
 */
async function attempt<T>(id: number, tryNumber: number, step: (c: pg.PoolClient, claimed: Claimed) => Promise<T>, worker = 'w-test'): Promise<T> {
  const client = await t.database.pool.connect();
  try {
    const [claimed] = await claimAndBegin(client, id, tryNumber, worker, LEASE_MS);
    if (!claimed) throw new Error(`try ${tryNumber} of instance ${id} was not claimable`);
    const value = await step(client, claimed);
    await client.query('COMMIT');
    return value;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(true);
  }
}

const expireLease = (id: number) => t.database.pool.query("UPDATE task_instances SET lease_until = now() - interval '1 second' WHERE id = $1", [id]);

it('a heartbeat renews only the leases its worker still holds, not a try another worker took over (heartbeat.sql)', async () => {
  const { id } = await newRun('single', 'work');
  await attempt(id, 1, async () => undefined, 'w-a');
  await expireLease(id);
  expect(await attempt(id, 1, async (_c, claimed) => claimed.attempt, 'w-b')).toBe(2);
  const taken = (await instance(id)).lease_until;

  expect(await renewLeases(t.database.pool, [id], 'w-a', 10 * LEASE_MS)).toBe(0);
  expect((await instance(id)).lease_until).toEqual(taken);
  expect(await renewLeases(t.database.pool, [id], 'w-b', 10 * LEASE_MS)).toBe(1);
  expect((await instance(id)).lease_until.getTime()).toBeGreaterThan(taken.getTime());
});

/**
 * Try 1 of a new `single` run: an infrastructure error, a poke, another infrastructure error,
 * then the task's own retry. Returns the job id of each delivery, first to last, and the instance.
 */
async function deliveries(): Promise<{ runId: number; id: number; jobIds: string[] }> {
  const { runId, id } = await newRun('single', 'work');
  const jobIds = [(await instance(id)).job_id];
  jobIds.push((await attempt(id, 1, (c, k) => infraRetryTry(c, k, infraFailure)))!);
  jobIds.push((await attempt(id, 1, (c, k) => rescheduleTry(c, k, { seen: 1 }, 0)))!);
  jobIds.push((await attempt(id, 1, (c, k) => infraRetryTry(c, k, infraFailure)))!);
  jobIds.push((await attempt(id, 1, (c, k) => retryTry(c, k, failure)))!);
  return { runId, id, jobIds };
}

it('every delivery of a try has a job id of its own: each engine retry, each poke, the next try (job-id.sql)', async () => {
  const { runId, jobIds } = await deliveries();
  const r = `r${runId}-work-m-1`;
  expect(jobIds).toEqual([`${r}-t1`, `${r}-t1-i1`, `${r}-t1-p1`, `${r}-t1-p1-i2`, `${r}-t2`]);
});

it("the next try starts fresh: none of the try before's attempts, pokes, engine retries or sensor state (next-try.sql)", async () => {
  const { id } = await deliveries();
  expect(await instance(id)).toMatchObject({
    state: 'up_for_retry', try_number: 2, attempt: 0, pokes: 0, lost_attempts: 0, infra_retries: 0, resume_state: null,
  });
});

it('clear gives a task a fresh set of retries counted from its current try (clear.sql)', async () => {
  const { runId, id } = await newRun('single', 'work');
  await attempt(id, 1, (c, k) => retryTry(c, k, failure));
  await attempt(id, 2, (c, k) => endTry(c, k, { state: 'failed', result: null, error: 'boom', code: 'TASK_FAILED', lines: [] }));
  expect(await runState(runId)).toBe('failed');
  expect(await instance(id)).toMatchObject({ state: 'failed', try_number: 2, max_tries: 4 });

  expect(await clearTasks(t.engine.pool, t.engine.dispatcher, t.engine.dag('single'), runId, 'work', false)).toEqual(['work']);
  expect(await runState(runId)).toBe('running');
  expect(await instance(id)).toMatchObject({ state: 'queued', try_number: 3, max_tries: 2 + 3 + 1 });
});

it('advancing a run again with nothing changed does nothing (advance.sql)', async () => {
  const { runId, id } = await newRun('single', 'work');
  const before = await instance(id);
  expect(before).toMatchObject({ state: 'queued', try_number: 1 });
  const again = await withTransaction(t.engine.pool, async (c) => [await advanceRun(c, runId), await advanceRun(c, runId)]);
  expect(again).toEqual([{ jobs: [], runState: undefined }, { jobs: [], runState: undefined }]);
  expect(await instance(id)).toEqual(before);
});

it('a cleared mapped task expands again with the next try number of each child (expand.sql)', async () => {
  const { runId, id } = await newRun('fan', 'list');
  const endList = (tryNumber: number) => attempt(id, tryNumber, async (c, k) => {
    const ended = await endTry(c, k, { state: 'success', result: ['a', 'b'], error: null, code: null, lines: [] });
    return ended?.jobs.map((j) => [j.jobId, j.data.tryNumber]);
  });
  expect(await endList(1)).toEqual([[`r${runId}-each-m0-t1`, 1], [`r${runId}-each-m1-t1`, 1]]);

  expect(await clearTasks(t.engine.pool, t.engine.dispatcher, t.engine.dag('fan'), runId, 'list', true)).toEqual(['list', 'each']);
  expect(await endList(2)).toEqual([[`r${runId}-each-m0-t2`, 2], [`r${runId}-each-m1-t2`, 2]]);
  const children = await query<{ map_index: number; state: string; try_number: number; attempt: number }>(
    "SELECT map_index, state, try_number, attempt FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index >= 0 ORDER BY map_index", [runId],
  );
  expect(children).toEqual([0, 1].map((i) => ({ map_index: i, state: 'queued', try_number: 2, attempt: 0 })));
});

describe("the sweeper's questions (sweep.sql)", () => {
  const due = async () => (await query<{ id: string }>('SELECT id FROM trib_sweep_due(0)')).map((r) => Number(r.id));

  it('a try running under a live lease is never due for re-delivery; once its lease expired, it is', async () => {
    const { id } = await newRun('single', 'work');
    expect(await due()).toContain(id); // queued: its job may have been lost
    await attempt(id, 1, async () => undefined);
    expect(await instance(id)).toMatchObject({ state: 'running' });
    expect(await due()).not.toContain(id);
    await expireLease(id);
    expect(await due()).toContain(id);
  });

  it('a run queued while its DAG was paused is started by the sweeper once the DAG is unpaused', async () => {
    await setPaused(t.engine.pool, 'later', true);
    const { runId, id } = await newRun('later', 'only');
    expect(await runState(runId)).toBe('queued');
    await setPaused(t.engine.pool, 'later', false);
    expect(await t.engine.dispatcher.startWaitingRuns()).toBe(1);
    expect(await runState(runId)).toBe('running');
    expect(await instance(id)).toMatchObject({ state: 'queued', try_number: 1 });
  });
});

it('a retry event is recorded once per try, and recording it twice is a no-op (task-event.sql)', async () => {
  const { runId, id } = await newRun('single', 'work');
  const dag = t.engine.dag('single');
  const task = dag.tasks.get('work')!;
  for (const tryNumber of [1, 2]) {
    await attempt(id, tryNumber, async (c, k) => {
      expect(await retryTry(c, k, failure)).not.toBeNull();
      await recordRetryEvent(c, dag, task, id, tryNumber, `boom on try ${tryNumber}`);
      await recordRetryEvent(c, dag, task, id, tryNumber, `boom on try ${tryNumber}`);
    });
  }
  const events = await query<{ key: string; try: number; error: string }>(
    "SELECT key, (payload->>'tryNumber')::int AS try, payload->>'error' AS error FROM callback_events WHERE run_id = $1 ORDER BY id", [runId],
  );
  expect(events).toEqual([1, 2].map((n) => ({ key: `task:${runId}:work:-1:${n}:retry`, try: n, error: `boom on try ${n}` })));
});

it('trib_pick_path follows a dotted path through objects, NULL as soon as a step is not an object (helpers.sql)', async () => {
  const pick = async (value: Json, path: string) =>
    (await query<{ v: Json }>('SELECT trib_pick_path($1::jsonb, $2) AS v', [JSON.stringify(value), path]))[0].v;
  expect(await pick({ out: { files: ['a', 'b'] } }, 'out.files')).toEqual(['a', 'b']);
  expect(await pick({ out: { files: ['a'] } }, 'out')).toEqual({ files: ['a'] });
  expect(await pick({ out: ['a'] }, 'out.files')).toBeNull();
  expect(await pick({ out: { files: ['a'] } }, 'out.missing.deeper')).toBeNull();
});
