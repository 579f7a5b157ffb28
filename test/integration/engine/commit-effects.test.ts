/**
 * What a delivery that lost its claim leaves behind: nothing. A failed check's stored results
 * (keepWrites) commit only when the failure's compare-and-set won — and then the commit half of
 * its ctx.afterCommit hooks runs, as after any COMMIT; side effects registered with ctx.afterCommit
 * run only after a real COMMIT (else their rollback half runs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { taskLogs } from '../../../dashboard/queries.ts';
import { markTask, triggerRun } from '../../../engine/operations.ts';
import type { JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const hookCalls: string[] = [];

/** Writes a row, registers a side effect, waits (the test marks the task meanwhile), then ends as told. */
const slowCheck: JobKind<{ fail: boolean }> = {
  name: 'slow_check',
  options: z.object({ fail: z.boolean() }),
  async handler(ctx, options) {
    await ctx.client.query('INSERT INTO effects (run_id, task_id, map_index, label) VALUES ($1, $2, -1, $3)', [ctx.runId, ctx.taskId, 'check']);
    ctx.afterCommit(() => hookCalls.push(`commit ${ctx.runId}`), () => hookCalls.push(`rollback ${ctx.runId}`));
    await new Promise((r) => setTimeout(r, 600));
    if (options.fail) throw new TributaryError('CHECK_FAILED', 'planted check failure', { details: { keepWrites: true } });
    return { ok: true };
  },
};

const dags = [
  defineDag({ id: 'keep', tasks: { check: { kind: 'slow_check', options: { fail: true } } } }),
  defineDag({ id: 'pass', tasks: { check: { kind: 'slow_check', options: { fail: false } } } }),
];

describe('effects of lost and won claims', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags, kinds: [slowCheck as JobKind] });
  });
  afterAll(async () => {
    await t?.close();
  });

  const effects = async (runId: number) =>
    (await t.database.pool.query('SELECT count(*)::int AS n FROM effects WHERE run_id = $1', [String(runId)])).rows[0].n as number;

  async function markWhileRunning(dagId: string, day: string) {
    const dag = t.dags.get(dagId)!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: day });
    for (;;) {
      const { rows } = await t.database.pool.query(`SELECT state FROM task_instances WHERE run_id = $1`, [runId]);
      if (rows[0].state === 'running') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await markTask(t.engine.pool, t.engine.dispatcher, dag, runId, 'check', 'success');
    await new Promise((r) => setTimeout(r, 1200)); // the handler ends and loses its claim
    return runId;
  }

  it('a keepWrites failure that lost its claim commits none of its writes', async () => {
    const runId = await markWhileRunning('keep', '2025-05-13');
    expect(await effects(runId)).toBe(0);
    expect(hookCalls).toContain(`rollback ${runId}`);
    expect(hookCalls).not.toContain(`commit ${runId}`);
  });

  it('a success that lost its claim runs only the rollback side of its hooks', async () => {
    const runId = await markWhileRunning('pass', '2025-05-13');
    expect(await effects(runId)).toBe(0);
    expect(hookCalls.filter((h) => h.endsWith(` ${runId}`))).toEqual([`rollback ${runId}`]);
    const logs = (await taskLogs(t.database.pool, runId, 'check')).map((l) => l.message);
    expect(logs).toContain('try started');
    expect(logs).not.toContain('try succeeded');
  });

  it('a keepWrites failure that won commits its writes and runs the commit side', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('keep')!, { date: '2025-05-14' });
    expect(await t.waitForRun(runId)).toBe('failed');
    expect(await effects(runId)).toBe(1);
    const task = await t.database.pool.query(`SELECT error_code FROM task_instances WHERE run_id = $1`, [runId]);
    expect(task.rows[0].error_code).toBe('CHECK_FAILED');
    // The hooks run just after the COMMIT the run's end is part of.
    const ran = () => hookCalls.filter((h) => h.endsWith(` ${runId}`));
    for (let waited = 0; ran().length === 0 && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(ran()).toEqual([`commit ${runId}`]);
  });
});
