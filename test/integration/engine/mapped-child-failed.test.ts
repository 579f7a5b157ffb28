/**
 * A mapped task fails when one of its children failed for good, through the real engine (workers,
 * queues, the settle after the last child's COMMIT): the parent closes 'failed' naming how many
 * children failed, with the children's results in map order; its all_success downstream is
 * upstream_failed, its all_done downstream runs, and the run fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

/** Returns its map item doubled, or fails for good on the item `failOn`. */
const failOn: JobKind<{ failOn: number }> = {
  name: 'fail_on',
  options: z.object({ failOn: z.number() }),
  async handler(ctx, options) {
    if (ctx.mapItem === options.failOn) throw new TributaryError('TASK_FAILED', `planted failure on item ${options.failOn}`);
    return (ctx.mapItem as number) * 2;
  },
};

const dag = defineDag({
  id: 'mapped_failure',
  tasks: {
    list: { kind: 'noop', options: { result: [0, 1, 2] } },
    each: { kind: 'fail_on', options: { failOn: 1 }, upstream: ['list'], mapOver: { task: 'list' } },
    after: { kind: 'noop', upstream: ['each'] },
    cleanup: { kind: 'noop', upstream: ['each'], triggerRule: 'all_done' },
  },
});

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ backend: 'postgres', dags: [dag], kinds: [failOn as JobKind] });
});
afterAll(async () => {
  await t?.close();
});

describe('a mapped task with a failed child', () => {
  it('fails (its downstream follows its trigger rules) and fails the run', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('mapped_failure'), { date: '2025-06-01' });
    expect(await t.waitForRun(runId, 20_000)).toBe('failed');
    expect(await t.taskStates(runId)).toEqual({
      list: 'success',
      each: 'failed',
      'each[0]': 'success',
      'each[1]': 'failed',
      'each[2]': 'success',
      after: 'upstream_failed',
      cleanup: 'success',
    });
    const { rows } = await t.database.pool.query<{ error: string; result: unknown }>(
      "SELECT error, result FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index = -1", [runId],
    );
    expect(rows[0]).toEqual({ error: '1 of 3 mapped instances failed', result: [0, null, 4] });
  }, 30_000);
});
