/**
 * A burst of 50 failing tasks at concurrency 28 on a pool of 10 connections: a failing try records
 * its failure on its own connection (never a second one), and a starved checkout fails loudly
 * instead of waiting forever — so the run ends, every failure recorded once, within a deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../engine/dag.ts';
import { TributaryError } from '../../engine/errors.ts';
import { triggerRun } from '../../engine/operations.ts';
import type { JobKind } from '../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const ITEMS = 50;
const list: JobKind<Record<string, never>> = {
  name: 'list',
  options: z.object({}).prefault({}),
  handler: async () => Array.from({ length: ITEMS }, (_, i) => i),
};
const failing: JobKind<Record<string, never>> = {
  name: 'failing',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    await ctx.client.query('SELECT pg_sleep(0.05)'); // hold the connection a little, like real work
    throw new TributaryError('FILE_NOT_FOUND', `planted failure ${ctx.mapIndex}`);
  },
};

const burst = defineDag({
  id: 'burst',
  tasks: {
    items: { kind: 'list' },
    fail: { kind: 'failing', upstream: ['items'], mapOver: { task: 'items' } },
    after: { kind: 'noop', upstream: ['fail'], triggerRule: 'all_done' },
  },
});

describe('burst of failures on a small pool', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: [burst], kinds: [list, failing] as JobKind[], concurrency: 28, poolSize: 10 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('ends the run with every failure recorded once, no pool hang', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('burst')!, { date: '2025-05-13' });
    // The only leaf runs on all_done: by Airflow's leaf rule the run succeeds, its 50 failures on the record.
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
    const children = await t.database.pool.query<{ state: string; error_code: string; n: number }>(
      `SELECT state, error_code, count(*)::int AS n FROM task_instances WHERE run_id = $1 AND task_id = 'fail' AND map_index >= 0 GROUP BY 1, 2`,
      [runId],
    );
    expect(children.rows).toEqual([{ state: 'failed', error_code: 'FILE_NOT_FOUND', n: ITEMS }]);
    const attempts = await t.database.pool.query<{ state: string; n: number }>(
      `SELECT a.state, count(*)::int AS n FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'fail' GROUP BY 1`,
      [runId],
    );
    expect(attempts.rows).toEqual([{ state: 'failed', n: ITEMS }]);
    expect((await t.taskStates(runId)).after).toBe('success');
  });
});
