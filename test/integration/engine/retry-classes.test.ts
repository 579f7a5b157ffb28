/**
 * A task's `retries` apply to any failure of its own work unless a retry cannot change it, through
 * the real engine: a unique violation (23505) and a missing file, each fixed while the task waits
 * for its retry, succeed on try 2; a path outside the data roots fails at once, its retries unused.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

/** Inserts key 1 into `keyed` (a primary key): a unique violation while a row with key 1 is there. */
const insertKey: JobKind<Record<string, never>> = {
  name: 'insert_key',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    await ctx.client.query('INSERT INTO keyed (id, try) VALUES (1, $1)', [ctx.tryNumber]);
    return { inserted: 1 };
  },
};

const RETRY = { retries: 1, retryDelayMs: 3000 }; // time enough for the test to fix the cause between tries
let root: string;
let outside: string;
let t: TestEngine;

const load = (file: string) => ({
  kind: 'load', ...RETRY, options: { source: { file }, target: 'amounts', columns: [{ name: 'amount', type: 'integer' }] },
});

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-retry-root-'));
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-retry-outside-'));
  await fs.writeFile(path.join(outside, 'amounts.csv'), 'amount\n1\n');
  t = await startTestEngine({
    backend: 'redis',
    dataRoots: [root],
    kinds: [insertKey as JobKind],
    dags: [
      defineDag({ id: 'unique_then_ok', tasks: { insert: { kind: 'insert_key', ...RETRY } } }),
      defineDag({ id: 'file_then_ok', tasks: { load: load(path.join(root, 'late.csv')) } }),
      defineDag({ id: 'outside', tasks: { load: load(path.join(outside, 'amounts.csv')) } }),
    ],
  });
  await t.database.pool.query('CREATE TABLE public.keyed (id int PRIMARY KEY, try int)');
  await t.database.pool.query('INSERT INTO keyed VALUES (1, 0)');
});
afterAll(async () => {
  await t?.close();
  for (const dir of [root, outside]) if (dir) await fs.rm(dir, { recursive: true, force: true });
});

interface TryRow { try_number: number; state: string; error_code: string | null }

async function tries(runId: number): Promise<TryRow[]> {
  const { rows } = await t.database.pool.query<TryRow>(
    `SELECT tt.try_number, tt.state, tt.error_code FROM task_tries tt JOIN task_instances ti ON ti.id = tt.task_instance_id
     WHERE ti.run_id = $1 ORDER BY tt.try_number`,
    [runId],
  );
  return rows;
}

/** Waits until try 1 of the run's task has failed with a retry scheduled; returns try 1's error code. */
async function firstTryFailed(runId: number): Promise<string | null> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rows } = await t.database.pool.query<{ state: string }>('SELECT state FROM task_instances WHERE run_id = $1', [runId]);
    if (rows[0]?.state === 'up_for_retry') return (await tries(runId))[0].error_code;
    if (Date.now() > deadline) throw new Error(`run ${runId}: try 1 never failed with a retry scheduled (${JSON.stringify(rows)})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const trigger = async (dagId: string) => (await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get(dagId)!, { date: '2025-05-13' })).runId;

describe('which failures use the task\'s retries', () => {
  it('a unique violation and a missing file are retried: fixed before the retry, try 2 succeeds', async () => {
    const [unique, file] = await Promise.all([trigger('unique_then_ok'), trigger('file_then_ok')]);
    const [uniqueCode, fileCode] = await Promise.all([
      firstTryFailed(unique).then(async (code) => {
        await t.database.pool.query('DELETE FROM keyed WHERE id = 1');
        return code;
      }),
      firstTryFailed(file).then(async (code) => {
        await fs.writeFile(path.join(root, 'late.csv'), 'amount\n7\n8\n');
        return code;
      }),
    ]);
    expect([uniqueCode, fileCode]).toEqual(['23505', 'FILE_NOT_FOUND']);
    expect(await t.waitForRun(unique)).toBe('success');
    expect(await t.waitForRun(file)).toBe('success');
    for (const [runId, code] of [[unique, '23505'], [file, 'FILE_NOT_FOUND']] as const) {
      expect(await tries(runId)).toEqual([
        { try_number: 1, state: 'failed', error_code: code },
        { try_number: 2, state: 'success', error_code: null },
      ]);
    }
    expect((await t.database.pool.query('SELECT id, try FROM keyed')).rows).toEqual([{ id: 1, try: 2 }]);
    expect((await t.database.pool.query('SELECT amount FROM amounts ORDER BY amount')).rows).toEqual([{ amount: 7 }, { amount: 8 }]);
  });

  it('a path outside the data roots fails at once: one try, its retry unused', async () => {
    const runId = await trigger('outside');
    expect(await t.waitForRun(runId)).toBe('failed');
    expect(await tries(runId)).toEqual([{ try_number: 1, state: 'failed', error_code: 'PATH_OUTSIDE_ROOT' }]);
    const { rows } = await t.database.pool.query<{ state: string; try_number: number; max_tries: number }>(
      'SELECT state, try_number, max_tries FROM task_instances WHERE run_id = $1', [runId],
    );
    expect(rows).toEqual([{ state: 'failed', try_number: 1, max_tries: 2 }]);
    expect((await t.database.pool.query('SELECT count(*)::int AS n FROM load_ledger WHERE path LIKE $1', [`${outside}%`])).rows[0].n).toBe(0);
  });
});
