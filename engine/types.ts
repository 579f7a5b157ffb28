/**
 * Glossary — read this before the code.
 *
 * DAG          A pipeline definition: an id, a cron schedule and a set of tasks wired by
 *              `upstream` edges, written with `defineDag()` in `schedules/<dag>.ts`.
 * Logical date The start of the data interval a run processes. A daily `0 6 * * *` DAG's run
 *              for 2025-05-13 has logical date 2025-05-13T06:00 (in the DAG's timezone) and
 *              processes 2025-05-13's files; its data interval ends at the next tick.
 * Run          One execution of a DAG for one logical date (`dag_runs`, unique per dag+date).
 * Task         A node of the DAG: a job kind plus options, upstreams and a trigger rule.
 * Task instance One task within one run (`task_instances`); a mapped task has one instance per
 *              map index plus a parent row (map_index -1) that aggregates them.
 * Try          One attempt at a task instance. Each try is one BullMQ job whose id is derived
 *              from (run, task, map index, try), so enqueueing a try twice is harmless.
 * Job kind     A queue name + typed options + a handler (`jobs/<kind>/`). Workers consume one
 *              queue per kind.
 * Result       A small JSON value a handler returns; stored in Postgres and handed to
 *              downstream tasks as `ctx.upstream[taskId]` (XCom-like).
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { z } from 'zod';
import type { Callbacks, CompiledCallbacks, CompiledDeadline, DeadlineSpec } from './callbacks.ts';
import type { KindDefaults, KindOptions } from './kind-options.ts';
import type { SecretParam } from './secret-params.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const TRIGGER_RULES = ['all_success', 'all_done', 'one_failed', 'none_failed'] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];

/** Terminal and non-terminal states of a task instance. */
export const TASK_STATES = [
  'none', // created with the run, upstreams not settled yet
  'queued', // a job for the current try is (or must be) on the queue
  'running', // a worker took the current try
  'up_for_retry', // the try failed and a delayed job for the next try is queued
  'mapped', // parent row of a mapped task: its children are running
  'success',
  'failed',
  'upstream_failed',
  'skipped',
] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const TERMINAL_TASK_STATES: readonly TaskState[] = ['success', 'failed', 'upstream_failed', 'skipped'];

export const RUN_STATES = ['queued', 'running', 'success', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** How a run's end state is decided (DagSpec.runFailsOn). */
export const RUN_FAILS_ON = ['leaves', 'any_failed'] as const;
export type RunFailsOn = (typeof RUN_FAILS_ON)[number];

/** Where a mapped task gets its list: `result[path]` of the upstream task `task` (or the result itself). */
export interface MapOver {
  /** The upstream task whose list result is fanned out (must be in `upstream`). */
  task: string;
  /** Dotted path into the upstream result; omit when the result itself is the list. */
  path?: string;
}

/**
 * A task as written in a DAG file. Its options are typed by its kind (engine/kind-options.ts:
 * `TaskSpec<'load'>` takes the load options; with `Defaulted`, its DAG's optionDefaults for the
 * kind may supply any of them) and validated against the kind's schema at load.
 */
export interface TaskSpec<Kind extends string = string, Defaulted extends boolean = false> {
  /** The job kind (and queue): `sensor`, `load`, `validate`, `reconcile`, `report`, `extract`, `noop`. */
  kind: Kind;
  /** The kind's options (see the kind's reference page); checked when the DAG is loaded. */
  options?: KindOptions<Kind, Defaulted>;
  /** Task ids that must settle before this one starts (see `triggerRule`). @default [] */
  upstream?: string[];
  /** When the task runs, from its upstreams' states: `all_success`, `all_done`, `one_failed`, `none_failed`. @default 'all_success' */
  triggerRule?: TriggerRule;
  /** Extra tries after the first. @default 0 */
  retries?: number;
  /** First retry delay; doubles every try (exponential backoff). @default 1000 */
  retryDelayMs?: number;
  /** Cap on the backoff delay. @default 300000 */
  maxRetryDelayMs?: number;
  /** A try running longer fails with TASK_TIMEOUT. @default 3600000 */
  timeoutMs?: number;
  /** BullMQ priority: 1 is the highest. @default undefined (no priority) */
  priority?: number;
  /** Fan out: one task instance per item of an upstream task's list result. */
  mapOver?: MapOver;
  /** After this task's last try failed (each mapped instance on its own). Run after COMMIT. @default [] */
  onFailure?: Callbacks;
  /** After a try of this task succeeded. @default [] */
  onSuccess?: Callbacks;
  /** After a try failed and another try is scheduled. @default [] */
  onRetry?: Callbacks;
}

export interface ScheduleSpec {
  /** Five-field cron expression, e.g. `0 6 * * *`. */
  cron: string;
  /** IANA timezone. @default 'UTC' */
  timezone?: string;
}

/** One declared run param: a zod schema, or a JSON default standing for a param of its type. */
export type ParamSpec = z.ZodType<Json | undefined> | Json;

/** A DAG's params compiled once: the defaults and the strict object schema a trigger is checked with. */
export interface CompiledParams {
  defaults: Record<string, Json>;
  schema: z.ZodObject;
  /** The params declared with `secret()`, by name. */
  secrets: Map<string, SecretParam>;
}

/**
 * A DAG as written in a DAG file. defineDag infers `Kinds` (task id → kind) and `Defaulted` (the
 * kinds optionDefaults names), which type each task's options; plain `DagSpec` leaves them unknown.
 */
export interface DagSpec<Kinds extends Record<string, string> = Record<string, string>, Defaulted extends string = string> {
  /** Unique DAG id: lower case letters, digits and `_`, starting with a letter. */
  id: string;
  /** One line shown in `trib dags list` and the dashboard. @default '' */
  description?: string;
  /** Omit for DAGs that only run when triggered. */
  schedule?: ScheduleSpec;
  /** Create one run per missed interval after downtime. @default false */
  catchup?: boolean;
  /** Runs of this DAG in `queued`/`running` at once. @default 1 */
  maxActiveRuns?: number;
  /**
   * Whether the DAG, when first registered in a database, starts paused (its schedule off until
   * `trib unpause`; manual triggers and backfills still run). `false` schedules it at once. An
   * existing DAG keeps its flag. @default the engine's setting (DAGS_PAUSED_AT_CREATION, true for `trib`)
   */
  pausedAtCreation?: boolean;
  /**
   * How a run's end state is decided: `leaves` — by its leaf tasks (Airflow's rule: a failed task
   * whose downstream report runs `all_done` leaves the run success); `any_failed` — any failed
   * task fails the run (and fires onFailure). @default 'leaves'
   */
  runFailsOn?: RunFailsOn;
  /** Earliest logical date the scheduler may create (catch-up never goes before it). */
  startDate?: string;
  /**
   * Run params by name, each a zod schema with its type, default and description
   * (`dataDir: z.string().default('data').describe('where the files land')`) or, shorthand, a plain
   * JSON default (a param of that value's type). A trigger's params are validated against them
   * (unknown or mistyped ones refused); templates (`{params.x}`) and SQL (`:param_x`) may use only
   * declared ones. A secret is declared with `secret()` (a value given at trigger time, never shown)
   * or `secret({ env: 'API_TOKEN' })` (read from the worker's environment when a task runs, never
   * stored). @default {}
   */
  params?: Record<string, ParamSpec>;
  /**
   * Options every task of a job kind gets unless it sets that option itself (per top-level key: a
   * task's own `rejectLimit` replaces the DAG's), e.g. `{ load: { rejectLimit: { warn: { ratio: 0.01 } } } }`.
   * @default {}
   */
  optionDefaults?: { [Kind in Defaulted]?: KindDefaults<Kind> };
  /**
   * Folders this DAG's tasks may also read and write files in, beside DATA_ROOTS; literal paths
   * (no templates), relative ones from the working directory. @default []
   */
  dataRoots?: string[];
  /** The tasks by id (same pattern as the DAG id), wired by `upstream`; at least one. */
  tasks: { [Id in keyof Kinds]: TaskSpec<Kinds[Id], Kinds[Id] extends Defaulted ? true : false> };
  /** After a run of this DAG ended failed. Run after COMMIT; a failing callback never changes the run. @default [] */
  onFailure?: Callbacks;
  /** After a run of this DAG ended successfully. @default [] */
  onSuccess?: Callbacks;
  /** After any task of this DAG failed a try and another try is scheduled. @default [] */
  onRetry?: Callbacks;
  /** The run of each logical day must succeed by this time; when it has not, `onDeadlineMissed` fires once. */
  deadline?: DeadlineSpec;
  /** When the run of a logical day has not succeeded by `deadline` (fired once). @default [] */
  onDeadlineMissed?: Callbacks;
}

/** A task after validation: every default filled in. */
export interface CompiledTask {
  id: string;
  kind: string;
  options: unknown;
  upstream: string[];
  downstream: string[];
  triggerRule: TriggerRule;
  retries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  timeoutMs: number;
  priority?: number;
  mapOver?: MapOver;
  callbacks: CompiledCallbacks;
}

/** A DAG after validation; the engine trusts it. */
export interface CompiledDag {
  id: string;
  description: string;
  file: string;
  /** engine/dag-version.ts: changes with the file, the graph, the options or a kind's handler. */
  version: string;
  schedule?: { cron: string; timezone: string };
  catchup: boolean;
  maxActiveRuns: number;
  /** Unset: the engine's pausedAtCreation decides. */
  pausedAtCreation?: boolean;
  runFailsOn: RunFailsOn;
  startDate?: Date;
  /** Default run params (declared params that have a default). */
  params: Record<string, Json>;
  /** The declared params as one strict zod object: what a trigger's params are validated against. */
  paramSchema: z.ZodObject;
  /** Params declared with `secret()`, by name: never shown (engine/secret-params.ts), env ones never stored. */
  secretParams: ReadonlyMap<string, SecretParam>;
  /** The DAG's own data roots, absolute. */
  dataRoots: string[];
  tasks: Map<string, CompiledTask>;
  /** Task ids in a topological order (upstreams first). */
  order: string[];
  /** Run-level onFailure/onSuccess, and onRetry for every task. */
  callbacks: CompiledCallbacks;
  deadline?: CompiledDeadline;
}

/** What a handler sees. Everything it writes goes through `db`/`client`, inside the try's transaction. */
export interface TaskContext {
  dagId: string;
  runId: string;
  taskId: string;
  /** -1 for an unmapped task, else the index into the mapped list. */
  mapIndex: number;
  /** The list item of a mapped task instance. */
  mapItem?: Json;
  tryNumber: number;
  logicalDate: Date;
  dataInterval: { start: Date; end: Date };
  params: Record<string, Json>;
  /** Results of the upstream tasks by task id; a mapped upstream gives an array in map order. */
  upstream: Record<string, Json>;
  /** Absolute folders every file path of this task must be inside: DATA_ROOTS plus the DAG's dataRoots. */
  dataRoots: readonly string[];
  log: Logger;
  /** The `state` a previous try of this instance passed to `reschedule` (sensors), if any. */
  resumeState?: Json;
  /**
   * The try's transaction. The engine commits it together with the task's new state, so data,
   * audit rows and task state land together or not at all.
   */
  client: pg.PoolClient;
  db: NodePgDatabase;
  /** Aborted when the try times out or the worker shuts down. */
  signal: AbortSignal;
  /**
   * Side effects outside Postgres (a webhook, a cache): `onCommit` runs after the try's transaction
   * committed, `onRollback` when it did not (a lost claim, a failure). A stale delivery that loses
   * its claim therefore never touches what a newer one wrote. Best effort: a hook that fails is
   * logged, a process that dies after COMMIT runs none, and when the COMMIT's outcome is unknown
   * (the connection failed during it) neither side runs. A file to put in place: renameAfterCommit.
   */
  afterCommit(onCommit: () => unknown, onRollback?: () => unknown): void;
  /**
   * Renames a written temp file into place after the try's COMMIT, durably (engine/file-effects.ts):
   * recorded in the try's transaction, so it exists exactly when the try's writes commit; done
   * right after COMMIT, and completed by the sweeper when the worker died first or the rename
   * failed (shown as a warning meanwhile). A try that does not commit has its temp file removed.
   */
  renameAfterCommit(file: FileRename): Promise<void>;
}

/**
 * A file written beside its final name, to be renamed into place after COMMIT. Real absolute
 * paths in one folder inside the task's data roots; the temp file is named by tempNameFor
 * (engine/file-moves.ts) and holds the content whose sha256 (hex) is given.
 */
export interface FileRename {
  tempPath: string;
  finalPath: string;
  sha256: string;
}

/**
 * What a handler may return instead of a plain result: ask to be called again later without
 * holding a worker slot (sensors). The try's transaction still commits (so progress is kept).
 */
export interface Reschedule {
  reschedule: { delayMs: number; state?: Json };
}

export type HandlerOutcome = Json | Reschedule;

/** A job kind; `Input` is what a DAG file writes as its options (`z.input<typeof kind.options>`). */
export interface JobKind<Options = unknown, Input = unknown> {
  /** Kind name, also the BullMQ queue name. */
  name: string;
  /** Raw options → defaults → validated; parsed once when the DAG is loaded. */
  options: z.ZodType<Options, Input>;
  handler(ctx: TaskContext, options: Options): Promise<HandlerOutcome>;
  /**
   * Optional check against the database before a run starts (e.g. the tables a check names
   * exist). Throws a TributaryError with a code.
   */
  preflight?(options: Options, db: { client: pg.PoolClient }): Promise<void>;
}

export function isReschedule(value: HandlerOutcome): value is Reschedule {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'reschedule' in value;
}
