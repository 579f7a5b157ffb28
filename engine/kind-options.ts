/**
 * What a DAG file may write as a task's `options`, by the task's `kind`: the input type of each
 * shipped kind's zod schema, and of every kind a project adds to `TributaryKinds` by augmentation —
 *   declare module 'tributary' { interface TributaryKinds { shout: z.input<typeof shout.options> } }
 * so a misspelt or mistyped option is a compile error. A kind named nowhere here keeps
 * `options?: unknown`. Types only: every task's options are still validated when its DAG is loaded.
 */
import type { z } from 'zod';
import type { extractOptions } from '../jobs/extract/options.ts';
import type { loadOptions } from '../jobs/load/options.ts';
import type { noopOptions } from '../jobs/noop/index.ts';
import type { reconcileOptions } from '../jobs/reconcile/options.ts';
import type { reportOptions } from '../jobs/report/options.ts';
import type { sensorOptions } from '../jobs/sensor/index.ts';
import type { validateOptions } from '../jobs/validate/options.ts';

/** Options by job kind name, as a DAG file writes them; projects add their kinds' here. */
export interface TributaryKinds {
  sensor: z.input<typeof sensorOptions>;
  load: z.input<typeof loadOptions>;
  validate: z.input<typeof validateOptions>;
  reconcile: z.input<typeof reconcileOptions>;
  report: z.input<typeof reportOptions>;
  extract: z.input<typeof extractOptions>;
  noop: z.input<typeof noopOptions>;
}

/**
 * The options of a task of kind `Kind`: its entry in TributaryKinds — every option optional when
 * its DAG's optionDefaults name the kind (`Defaulted`) — and `unknown` for a kind without one.
 */
export type KindOptions<Kind extends string, Defaulted extends boolean = false> = Kind extends keyof TributaryKinds
  ? Defaulted extends true ? Partial<TributaryKinds[Kind]> : TributaryKinds[Kind]
  : unknown;

/** What a DAG's optionDefaults may give every task of `Kind`: any of its options. */
export type KindDefaults<Kind extends string> = Kind extends keyof TributaryKinds ? Partial<TributaryKinds[Kind]> : Record<string, unknown>;
