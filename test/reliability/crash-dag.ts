/** The DAG and kind shared by the crash test and its child worker process (test code, not shipped). */
import { z } from 'zod';
import { defineDag } from '../../engine/dag.ts';
import type { JobKind } from '../../engine/types.ts';

export const crashDag = defineDag({
  id: 'crash',
  tasks: {
    slow: { kind: 'slow_effect', options: { sleepMs: 1500 } },
    after: { kind: 'noop', upstream: ['slow'] },
  },
});

/** Writes its effect first, then sleeps — a kill during the sleep must leave no effect behind. */
export const slowEffect: JobKind<{ sleepMs: number }> = {
  name: 'slow_effect',
  options: z.object({ sleepMs: z.number() }),
  async handler(ctx, options) {
    await ctx.client.query('CREATE TABLE IF NOT EXISTS crash_effects (run_id bigint, pid int, at timestamptz DEFAULT now())');
    await ctx.client.query('INSERT INTO crash_effects (run_id, pid) VALUES ($1, $2)', [ctx.runId, process.pid]);
    await new Promise((r) => setTimeout(r, options.sleepMs));
    return { pid: process.pid };
  },
};
