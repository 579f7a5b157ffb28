/**
 * `noop` job kind (benchmarks, demo): optionally sleeps `sleepMs` (aborted by ctx.signal), writes
 * nothing, and returns `options.result` or `{ ok: true }`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { JobKind } from '../../engine/types.ts';

export const noopOptions = z
  .object({
    /** Milliseconds to wait before returning. @default 0 */
    sleepMs: z.number().int().min(0).max(60_000).default(0),
    /** The result to return. @default { ok: true } */
    result: z.json().optional(),
  })
  .strict()
  .prefault({});

export type NoopOptions = z.infer<typeof noopOptions>;

export const noop: JobKind<NoopOptions> = {
  name: 'noop',
  options: noopOptions,
  async handler(ctx, options) {
    if (options.sleepMs > 0) await sleep(options.sleepMs, undefined, { signal: ctx.signal });
    return options.result ?? { ok: true };
  },
};
