/**
 * The two guards that keep one try from running or ending twice, each exercised alone, on real
 * connections through the engine's own transitions (claimAndBegin, endTry and the retry
 * statements, as the executor calls them), with two workers' identities:
 * - a claim of a try running under a live lease gets no row and changes nothing (trib_claim);
 * - an older attempt of the SAME try, whose lease expired and was taken over, ends nothing: its
 *   success, retry, infra-retry or reschedule loses the compare-and-set on (try, attempt), and
 *   the attempt that took over ends the try.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { claimAndBegin, commitTry, endTry } from '../../../engine/transitions.ts';
import { infraRetryTry, rescheduleTry, retryTry, type Claimed } from '../../../engine/try-sql.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const single = defineDag({ id: 'single', maxActiveRuns: 10, tasks: { work: { kind: 'noop', retries: 2 } } });
const LONG_LEASE_MS = 60_000;
const SHORT_LEASE_MS = 300;

let t: TestEngine;
let day = 0;
beforeAll(async () => {
  t = await startTestEngine({ backend: 'postgres', dags: [single], workers: false });
});
afterAll(async () => {
  await t?.close();
});

const ok = { state: 'success' as const, result: { done: true }, error: null, code: null, lines: [] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A new run of `single`: its one task's instance id (try 1, queued). */
async function queuedTask(): Promise<{ runId: number; id: number }> {
  day++;
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('single'), { date: `2025-03-${String(day).padStart(2, '0')}` });
  const { rows } = await t.database.pool.query<{ id: number }>("SELECT id FROM task_instances WHERE run_id = $1 AND task_id = 'work'", [runId]);
  return { runId, id: Number(rows[0].id) };
}

/** What the claim and end statements touch: the instance, its attempts, its tries, its log lines. */
async function snapshot(id: number) {
  const instance = await t.database.pool.query(
    'SELECT state, try_number, attempt, lost_attempts, infra_retries, worker, result FROM task_instances WHERE id = $1', [id],
  );
  const attempts = await t.database.pool.query(
    'SELECT try_number, attempt, state, worker FROM task_attempts WHERE task_instance_id = $1 ORDER BY try_number, attempt', [id],
  );
  const tries = await t.database.pool.query('SELECT try_number, state, worker FROM task_tries WHERE task_instance_id = $1 ORDER BY try_number', [id]);
  const logs = await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM task_logs WHERE task_instance_id = $1', [id]);
  return { instance: instance.rows[0], attempts: attempts.rows, tries: tries.rows, logLines: logs.rows[0].n };
}

/** Claims try 1 of `id` for `worker` on `client` (its transaction left open), as the executor does. */
async function claim(client: pg.PoolClient, id: number, worker: string, leaseMs: number): Promise<Claimed | null> {
  // claimAndBegin names the connection's worker once per connection: a fresh connection per worker.
  return (await claimAndBegin(client, id, 1, worker, leaseMs))[0] ?? null;
}

async function withClients<T>(fn: (a: pg.PoolClient, b: pg.PoolClient) => Promise<T>): Promise<T> {
  const a = await t.database.pool.connect();
  const b = await t.database.pool.connect();
  try {
    return await fn(a, b);
  } finally {
    await a.query('ROLLBACK').catch(() => undefined);
    await b.query('ROLLBACK').catch(() => undefined);
    a.release(true); // the worker name is a session setting: never hand a named connection on
    b.release(true);
  }
}

describe('claim under a live lease', () => {
  it('gets no row and bumps neither attempt nor lost_attempts; once the lease expired, the same claim takes the try over', async () => {
    const { id } = await queuedTask();
    await withClients(async (a, b) => {
      const first = await claim(a, id, 'w-a', LONG_LEASE_MS);
      expect(first).toMatchObject({ attempt: 1, lost_attempts: 0 });
      await a.query('ROLLBACK'); // the claim committed on its own; the try's transaction is empty
      const before = await snapshot(id);
      expect(before.instance).toMatchObject({ state: 'running', attempt: 1, lost_attempts: 0, worker: 'w-a' });

      expect(await claim(b, id, 'w-b', LONG_LEASE_MS)).toBeNull();
      await b.query('ROLLBACK');
      expect(await snapshot(id)).toEqual(before);

      // The same claim, the lease expired: it takes over (the guard above is the lease, not the state).
      await t.database.pool.query("UPDATE task_instances SET lease_until = now() - interval '1 second' WHERE id = $1", [id]);
      expect(await claim(b, id, 'w-b', LONG_LEASE_MS)).toMatchObject({ attempt: 2, lost_attempts: 1 });
      await b.query('ROLLBACK');
      expect((await snapshot(id)).attempts).toEqual([
        { try_number: 1, attempt: 1, state: 'lost', worker: 'w-a' },
        { try_number: 1, attempt: 2, state: 'running', worker: 'w-b' },
      ]);
    });
  });
});

/** A fresh connection in a transaction, as the executor records an end after its own connection died. */
async function onFresh<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await t.database.pool.connect();
  try {
    await c.query('BEGIN');
    return await fn(c);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    c.release(true);
  }
}

describe('an older attempt of the same try', () => {
  /**
   * w-a claims try 1 under a short lease; it expires and w-b takes the SAME try over (attempt 2).
   * Returns both claims, w-a's transaction still open (its body "still running").
   */
  async function takenOver(a: pg.PoolClient, b: pg.PoolClient, id: number): Promise<{ old: Claimed; current: Claimed }> {
    const old = await claim(a, id, 'w-a', SHORT_LEASE_MS);
    expect(old).toMatchObject({ try_number: 1, attempt: 1 });
    await sleep(SHORT_LEASE_MS + 200);
    const current = await claim(b, id, 'w-b', LONG_LEASE_MS);
    expect(current).toMatchObject({ try_number: 1, attempt: 2, lost_attempts: 1 });
    // The takeover ended w-a's session (a stopped worker keeps no lock): w-a's next statement fails.
    await expect(a.query('SELECT 1')).rejects.toThrow();
    return { old: old as Claimed, current: current as Claimed };
  }

  it('ends nothing: its success loses the compare-and-set, and the attempt that took over ends the try', async () => {
    const { runId, id } = await queuedTask();
    await withClients(async (a, b) => {
      const { old, current } = await takenOver(a, b, id);
      const before = await snapshot(id);
      expect(before.instance).toMatchObject({ state: 'running', try_number: 1, attempt: 2, worker: 'w-b' });

      const line = { level: 'info', message: 'from the old attempt', fields: {}, at: new Date() };
      expect(await onFresh((c) => endTry(c, old, { ...ok, result: { from: 'w-a' }, lines: [line] }))).toBeNull();
      expect(await snapshot(id)).toEqual(before);

      const ended = await endTry(b, current, { ...ok, result: { from: 'w-b' } });
      expect(ended).not.toBeNull();
      await commitTry(b);
      expect((await snapshot(id)).instance).toMatchObject({ state: 'success', attempt: 2, result: { from: 'w-b' } });
      expect(await t.waitForRun(runId, 5_000)).toBe('success');
    });
  });

  it('ends nothing by a retry, an infra-retry or a reschedule either', async () => {
    const { id } = await queuedTask();
    await withClients(async (a, b) => {
      const { old } = await takenOver(a, b, id);
      await b.query('ROLLBACK');
      const before = await snapshot(id);
      await onFresh(async (c) => {
        expect(await retryTry(c, old, { error: 'boom', code: 'TASK_FAILED', delayMs: 10 })).toBeNull();
        expect(await infraRetryTry(c, old, { error: 'boom', code: 'DATABASE_UNAVAILABLE', delayMs: 10 })).toBeNull();
        expect(await rescheduleTry(c, old, { poke: 1 }, 10)).toBeNull();
        await c.query('COMMIT'); // even committed, the stale attempt's statements changed nothing
      });
      expect(await snapshot(id)).toEqual(before);
    });
  });
});
