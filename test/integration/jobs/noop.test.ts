/** The shipped `noop` kind: option defaults and bounds, its result, its sleep and abort (real Postgres tx). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask } from '../../support/task-context.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import { noop, noopOptions } from '../../../jobs/noop/index.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ migrate: false, max: 2 });
});
afterAll(async () => {
  await database?.drop();
});

describe('noop', () => {
  it('is registered as a builtin kind', () => {
    expect(builtinKinds().get('noop')).toBe(noop);
  });

  it('options: defaults when omitted, bounds enforced, unknown keys refused', () => {
    expect(noopOptions.parse(undefined)).toEqual({ sleepMs: 0 });
    expect(noopOptions.parse({ sleepMs: 5, result: { n: 1 } })).toEqual({ sleepMs: 5, result: { n: 1 } });
    expect(noopOptions.safeParse({ sleepMs: 60_001 }).success).toBe(false);
    expect(noopOptions.safeParse({ sleepMs: -1 }).success).toBe(false);
    expect(noopOptions.safeParse({ sleep: 1 }).success).toBe(false);
  });

  it('returns { ok: true } by default and the configured result otherwise', async () => {
    expect(await runTask(database.pool, (ctx) => noop.handler(ctx, noopOptions.parse({})))).toEqual({ ok: true });
    const result = { files: ['a.csv', 'b.csv'], n: 2 };
    expect(await runTask(database.pool, (ctx) => noop.handler(ctx, noopOptions.parse({ result })))).toEqual(result);
    expect(await runTask(database.pool, (ctx) => noop.handler(ctx, noopOptions.parse({ result: null })))).toEqual({
      ok: true,
    });
  });

  it('sleeps sleepMs, and stops early when the signal aborts', async () => {
    const started = Date.now();
    await runTask(database.pool, (ctx) => noop.handler(ctx, noopOptions.parse({ sleepMs: 60 })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('timed out')), 20);
    const abortedAt = Date.now();
    await expect(
      runTask(database.pool, (ctx) => noop.handler(ctx, noopOptions.parse({ sleepMs: 30_000 })), {
        signal: controller.signal,
      }),
    ).rejects.toThrow();
    expect(Date.now() - abortedAt).toBeLessThan(5_000);
  });
});
