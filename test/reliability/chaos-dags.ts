/**
 * DAGs and kinds of the chaos suite (test code, never shipped). Every effect is countable from
 * outside the code under test: `slow_effect` writes a row in the try's transaction; `counted`
 * also appends a line to a file outside the database each time its body starts, so a body that
 * runs twice is visible even when only one commit survived.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { defineDag } from '../../engine/dag.ts';
import { TributaryError } from '../../engine/errors.ts';
import type { JobKind } from '../../engine/types.ts';

export const EFFECTS_TABLE = 'CREATE TABLE IF NOT EXISTS public.chaos_effects (run_id bigint, task_id text, pid int, at timestamptz DEFAULT clock_timestamp())';

/** Every body start, outside the database: one line per start in $CHAOS_COUNTER_FILE (when set). */
function countStart(runId: string, taskId: string): void {
  const file = process.env.CHAOS_COUNTER_FILE;
  if (file) fs.appendFileSync(file, `${runId} ${taskId} ${process.pid}\n`);
}

/** Writes its effect first, then sleeps — a kill during the sleep must leave no effect behind. */
export const slowEffect: JobKind<{ sleepMs: number }> = {
  name: 'slow_effect',
  options: z.object({ sleepMs: z.number() }),
  async handler(ctx, options) {
    countStart(ctx.runId, ctx.taskId);
    await ctx.client.query(EFFECTS_TABLE);
    await ctx.client.query('INSERT INTO chaos_effects (run_id, task_id, pid) VALUES ($1, $2, $3)', [ctx.runId, ctx.taskId, process.pid]);
    await new Promise((r) => setTimeout(r, options.sleepMs));
    return { pid: process.pid };
  },
};

/** Kills its own worker process (like an out-of-memory kill), every time. */
export const suicide: JobKind<Record<string, never>> = {
  name: 'suicide',
  options: z.object({}).prefault({}),
  async handler() {
    process.kill(process.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 60_000));
    return null;
  },
};

/** Fails at once with a permanent error (for bursts of failures). */
export const failing: JobKind<Record<string, never>> = {
  name: 'failing',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    throw new TributaryError('OPTIONS_INVALID', `planted failure of ${ctx.taskId}[${ctx.mapIndex}]`);
  },
};

/** Fails (retryable) on its first try, succeeds after: its retry's backoff is what is watched. */
export const flakyOnce: JobKind<Record<string, never>> = {
  name: 'flaky_once',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    countStart(ctx.runId, ctx.taskId);
    if (ctx.tryNumber === 1) throw new TributaryError('TASK_FAILED', 'planted failure of the first try');
    return { try: ctx.tryNumber };
  },
};

/**
 * One effect row per even mapped child (task id `each[i]`), in the try's transaction; chaos_effects
 * must exist. An odd child writes nothing: its end is held and written with its siblings'
 * (engine/lane-batch.ts), so a kill also catches held ends.
 */
export const childEffect: JobKind<Record<string, never>> = {
  name: 'child_effect',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    if (ctx.mapIndex % 2 === 1) return null;
    await ctx.client.query('INSERT INTO chaos_effects (run_id, task_id, pid) VALUES ($1, $2, $3)', [ctx.runId, `${ctx.taskId}[${ctx.mapIndex}]`, process.pid]);
    return null;
  },
};

export const chaosKinds = [slowEffect, suicide, failing, flakyOnce, childEffect] as JobKind[];

export const chainDag = defineDag({
  id: 'chain',
  tasks: {
    a: { kind: 'slow_effect', options: { sleepMs: 2500 } },
    b: { kind: 'slow_effect', options: { sleepMs: 300 }, upstream: ['a'] },
    c: { kind: 'slow_effect', options: { sleepMs: 300 }, upstream: ['b'] },
  },
});

export const suicideDag = defineDag({
  id: 'suicide',
  tasks: {
    dies: { kind: 'suicide' },
    cleanup: { kind: 'noop', upstream: ['dies'], triggerRule: 'all_done' },
    report: { kind: 'noop', upstream: ['dies'] },
  },
});

/** An idempotent upsert of one file (`{params.file}`) with a recorded coercion (trim) on `label`. */
export const loadDag = defineDag({
  id: 'chaos_load',
  params: { file: z.string() },
  tasks: {
    load: {
      kind: 'load',
      options: {
        source: { file: '{params.file}' },
        target: 'chaos_items',
        mode: 'upsert',
        onConflict: 'ignore',
        key: ['item_id'],
        mergeSegmentRows: 20_000,
        columns: [
          { name: 'item_id', type: 'integer', min: 1 },
          { name: 'label', type: 'text', coerce: ['trim'] },
          { name: 'qty', type: 'integer', min: 0 },
        ],
      },
    },
  },
});

/** A long task (for a wipe while it runs) beside a retry waiting out a 6 s backoff. */
export const redisWipeDag = defineDag({
  id: 'redis_wipe',
  tasks: {
    long: { kind: 'slow_effect', options: { sleepMs: 6000 } },
    retried: { kind: 'flaky_once', retries: 1, retryDelayMs: 6000 },
    after: { kind: 'slow_effect', options: { sleepMs: 100 }, upstream: ['long', 'retried'] },
  },
});

/** A short task hands the long one over (same queue); the worker is killed during the long one. */
export const handoverDag = defineDag({
  id: 'handover',
  tasks: {
    first: { kind: 'slow_effect', options: { sleepMs: 100 } },
    long: { kind: 'slow_effect', options: { sleepMs: 5000 }, upstream: ['first'] },
    last: { kind: 'slow_effect', options: { sleepMs: 100 }, upstream: ['long'] },
  },
});

/** A report into `{params.dir}` (test/reliability/report-rename-kill.test.ts kills its worker between COMMIT and rename). */
export const reportDag = defineDag({
  id: 'chaos_report',
  params: { dir: z.string() },
  tasks: { report: { kind: 'report', options: { query: 'SELECT g AS n FROM generate_series(1, 1000) g', outputDir: '{params.dir}', fileName: 'r_{yyyymmdd}.csv' } } },
});

export const FANOUT_CHILDREN = 4000;

/** A wide fan-out (test/reliability/fanout-kill.test.ts kills its worker in the middle). */
export const fanoutDag = defineDag({
  id: 'chaos_fanout',
  tasks: {
    list: { kind: 'noop', options: { result: Array.from({ length: FANOUT_CHILDREN }, (_, i) => i) } },
    each: { kind: 'child_effect', upstream: ['list'], mapOver: { task: 'list' } },
  },
});

export const chaosDags = [chainDag, suicideDag, loadDag, redisWipeDag, handoverDag, reportDag, fanoutDag];
