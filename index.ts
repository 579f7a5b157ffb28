/**
 * The `tributary` package: what a DAG file or a custom job kind imports. `defineDag` and
 * `defineJobKind`, `secret` (a run param never shown, or read from the worker's environment),
 * `renderTemplate` (the `{yyyymmdd}` / `{params.x}` templates, for a kind's own options), the task
 * context and job-kind types, callback types, each shipped kind's option types (`…Input` is what a
 * DAG file writes; the plain name is the parsed form), `TributaryKinds` (options by kind: a project
 * adds its own kinds to it with `declare module 'tributary'`), and zod as `z` (declare params and
 * custom options with this copy, the one Tributary checks them with).
 */
import type { z as zod } from 'zod';
import type { extractOptions } from './jobs/extract/options.ts';
import type { loadOptions } from './jobs/load/options.ts';
import type { noopOptions } from './jobs/noop/index.ts';
import type { reconcileOptions } from './jobs/reconcile/options.ts';
import type { reportOptions } from './jobs/report/options.ts';
import type { sensorOptions } from './jobs/sensor/index.ts';
import type { validateOptions } from './jobs/validate/options.ts';

export { z } from 'zod';
export { defineDag } from './engine/dag.ts';
export { secret } from './engine/secret-params.ts';
export { defineJobKind } from './engine/kinds.ts';
export { TributaryError, type ErrorCode } from './engine/errors.ts';
export { renderTemplate, type TemplateScope } from './jobs/templates.ts';
export type {
  DagSpec, TaskSpec, ScheduleSpec, MapOver, TriggerRule, ParamSpec, TaskContext, JobKind, HandlerOutcome, Reschedule, Json,
} from './engine/types.ts';
export type { KindOptions, TributaryKinds } from './engine/kind-options.ts';
export type {
  Callback, Callbacks, CallbackEvent, CallbackEventName, CallbackFunction, DeadlineSpec, LogCallback, WebhookCallback,
} from './engine/callbacks.ts';

export type LoadOptionsInput = zod.input<typeof loadOptions>;
export type LoadOptions = zod.output<typeof loadOptions>;
export type SensorOptionsInput = zod.input<typeof sensorOptions>;
export type SensorOptions = zod.output<typeof sensorOptions>;
export type ValidateOptionsInput = zod.input<typeof validateOptions>;
export type ValidateOptions = zod.output<typeof validateOptions>;
export type ReconcileOptionsInput = zod.input<typeof reconcileOptions>;
export type ReconcileOptions = zod.output<typeof reconcileOptions>;
export type ReportOptionsInput = zod.input<typeof reportOptions>;
export type ReportOptions = zod.output<typeof reportOptions>;
export type ExtractOptionsInput = zod.input<typeof extractOptions>;
export type ExtractOptions = zod.output<typeof extractOptions>;
export type NoopOptionsInput = zod.input<typeof noopOptions>;
