/**
 * The engine's retries after infrastructure errors stop exactly at INFRA_RETRY_MAX, through the real
 * engine (infraRetryMax 2; the backoff is 1 s then 2 s): a try whose attempts fail with an
 * infrastructure error twice and then succeed succeeds (two engine retries, all the limit allows);
 * one that fails a third time fails then, on its own try (the task's retries are 0), after exactly
 * two engine retries; with infraRetryMax 0 the first infrastructure error fails the try.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const LIMIT = 2;

/** Attempts started per run, counted in this process (cleared per engine: each has its own database, run ids restart). */
const started = new Map<string, number>();

/** Fails with an infrastructure error (the database "went away") on its first `infraFailures` attempts. */
const infraFlaky: JobKind<{ infraFailures: number }> = {
  name: 'infra_flaky',
  options: z.object({ infraFailures: z.number().int().min(0) }),
  async handler(ctx, options) {
    const attempt = (started.get(ctx.runId) ?? 0) + 1;
    started.set(ctx.runId, attempt);
    if (attempt <= options.infraFailures) throw new TributaryError('DATABASE_UNAVAILABLE', `planted infrastructure error on attempt ${attempt}`);
    return { attempt };
  },
};

const dags = [
  defineDag({ id: 'at_limit', tasks: { work: { kind: 'infra_flaky', options: { infraFailures: LIMIT } } } }),
  defineDag({ id: 'past_limit', tasks: { work: { kind: 'infra_flaky', options: { infraFailures: LIMIT + 1 } } } }),
];

interface AttemptRow { try_number: number; attempt: number; state: string; error_code: string | null }

async function outcome(t: TestEngine, runId: number) {
  const instance = await t.database.pool.query<{ state: string; try_number: number; infra_retries: number; error_code: string | null }>(
    'SELECT state, try_number, infra_retries, error_code FROM task_instances WHERE run_id = $1', [runId],
  );
  const attempts = await t.database.pool.query<AttemptRow>(
    `SELECT a.try_number, a.attempt, a.state, a.error_code FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
     WHERE ti.run_id = $1 ORDER BY a.try_number, a.attempt`, [runId],
  );
  return { instance: instance.rows[0], attempts: attempts.rows };
}

const infraError = (attempt: number): AttemptRow => ({ try_number: 1, attempt, state: 'infra_error', error_code: 'DATABASE_UNAVAILABLE' });

describe(`infrastructure retries at the limit (infraRetryMax ${LIMIT})`, () => {
  let t: TestEngine;
  beforeAll(async () => {
    started.clear();
    t = await startTestEngine({ backend: 'postgres', dags, kinds: [infraFlaky as JobKind], infraRetryMax: LIMIT });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`${LIMIT} infrastructure failures are retried; one more fails the try`, async () => {
    const trigger = async (dagId: string) => (await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag(dagId), { date: '2025-07-01' })).runId;
    const [atLimit, pastLimit] = await Promise.all([trigger('at_limit'), trigger('past_limit')]);
    const [atState, pastState] = await Promise.all([t.waitForRun(atLimit, 20_000), t.waitForRun(pastLimit, 20_000)]);

    expect(atState).toBe('success');
    expect(await outcome(t, atLimit)).toEqual({
      instance: { state: 'success', try_number: 1, infra_retries: LIMIT, error_code: null },
      attempts: [infraError(1), infraError(2), { try_number: 1, attempt: 3, state: 'success', error_code: null }],
    });

    expect(pastState).toBe('failed');
    expect(await outcome(t, pastLimit)).toEqual({
      instance: { state: 'failed', try_number: 1, infra_retries: LIMIT, error_code: 'DATABASE_UNAVAILABLE' },
      attempts: [infraError(1), infraError(2), { try_number: 1, attempt: 3, state: 'failed', error_code: 'DATABASE_UNAVAILABLE' }],
    });
  }, 30_000);
});

describe('infrastructure retries with infraRetryMax 0', () => {
  let t: TestEngine;
  beforeAll(async () => {
    started.clear();
    t = await startTestEngine({ backend: 'postgres', dags, kinds: [infraFlaky as JobKind], infraRetryMax: 0 });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the first infrastructure failure fails the try', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('at_limit'), { date: '2025-07-02' });
    expect(await t.waitForRun(runId, 20_000)).toBe('failed');
    expect(await outcome(t, runId)).toEqual({
      instance: { state: 'failed', try_number: 1, infra_retries: 0, error_code: 'DATABASE_UNAVAILABLE' },
      attempts: [{ try_number: 1, attempt: 1, state: 'failed', error_code: 'DATABASE_UNAVAILABLE' }],
    });
  }, 30_000);
});
