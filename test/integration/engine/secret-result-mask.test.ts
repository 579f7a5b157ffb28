/**
 * A handler that returns or throws a secret param's value does not store it: the try's result and
 * error (shown by the API, the pages and `trib run show`, and handed to downstream tasks) are
 * masked like its log lines. Through the real executor, on a real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { triggerRun } from '../../../engine/operations.ts';
import { secret } from '../../../engine/secret-params.ts';
import { TributaryError } from '../../../engine/errors.ts';
import type { JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const SECRET = 'postgres://loader:s3cr3t-Value-91@wh/db';
const careless: JobKind = {
  name: 'careless',
  options: z.object({ fail: z.boolean().default(false) }).prefault({}),
  async handler(ctx, options) {
    const dsn = String(ctx.params.dsn);
    if ((options as { fail: boolean }).fail) throw new TributaryError('ARGUMENT_INVALID', `could not connect to ${dsn}`);
    return { echoed: dsn, length: dsn.length };
  },
};

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({
    backend: 'redis',
    kinds: [careless],
    dags: [{
      id: 'careless_dag',
      params: { dsn: secret() },
      tasks: { returns: { kind: 'careless' }, throws: { kind: 'careless', options: { fail: true } } },
    }],
  });
}, 60_000);
afterAll(async () => t?.close());

describe('secret values in results and errors', () => {
  it('are masked in the stored result and error of the try', async () => {
    const run = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('careless_dag')!, { params: { dsn: SECRET } });
    expect(await t.waitForRun(run.runId)).toBe('failed');
    const rows = await t.database.pool.query<{ task_id: string; result: unknown; error: string | null }>(
      'SELECT task_id, result, error FROM task_instances WHERE run_id = $1 ORDER BY task_id', [run.runId]);
    expect(rows.rows[0]).toMatchObject({ task_id: 'returns', result: { echoed: '••••••', length: SECRET.length } });
    expect(rows.rows[1].task_id).toBe('throws');
    expect(rows.rows[1].error).toContain('could not connect to ••••••');
    const everything = JSON.stringify((await t.database.pool.query(
      `SELECT ti.result, ti.error, tr.error AS try_error, a.error AS attempt_error FROM task_instances ti
       LEFT JOIN task_tries tr ON tr.task_instance_id = ti.id LEFT JOIN task_attempts a ON a.task_instance_id = ti.id WHERE ti.run_id = $1`, [run.runId])).rows);
    expect(everything).not.toContain('s3cr3t-Value-91');
  });
});
