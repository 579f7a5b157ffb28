/**
 * Failure/success/retry callbacks and deadlines, as written in DAG files and compiled once. An
 * event a DAG or task has callbacks for is recorded with `recordEvent` inside the transaction of
 * the state change it reports (an outbox row, unique by key), so it exists exactly when that change
 * committed; engine/callback-delivery.ts runs the callbacks after COMMIT, outside any task.
 */
import type pg from 'pg';
import { z } from 'zod';
import { nextTick, startOfDay, formatDay, timezoneError } from './schedule.ts';
import type { Json } from './types.ts';

export const CALLBACK_EVENTS = ['failure', 'success', 'retry', 'deadline_missed'] as const;
export type CallbackEventName = (typeof CALLBACK_EVENTS)[number];

/** What every callback receives (and what a webhook POSTs as JSON). */
export interface CallbackEvent {
  /** The outbox row id: the same event redelivered after a crash has the same id. */
  id: number;
  event: CallbackEventName;
  dag: string;
  /** null for a deadline missed by a run that does not exist. */
  run: number | null;
  /** null for run-level events (a run's success/failure, a missed deadline). */
  task: string | null;
  mapIndex: number | null;
  tryNumber: number | null;
  /** The task's or run's state the event reports (`failed`, `up_for_retry`, `success`, or a run's state at its deadline). */
  state: string;
  error: string | null;
  logicalDate: string;
  /** The run's page on the dashboard. */
  link: string | null;
}

export interface WebhookCallback {
  webhook: {
    /** Where to POST; put a URL that carries a secret in the environment and use `urlEnv`. */
    url?: string;
    /** Name of the environment variable holding the URL (read at delivery; never logged). */
    urlEnv?: string;
    /** Header name → environment variable holding its value, e.g. `{ Authorization: 'ALERT_TOKEN' }`. @default {} */
    headersFromEnv?: Record<string, string>;
    /** Extra attempts after a failed POST (network error or non-2xx). @default 3 */
    retries?: number;
    /** First retry delay, doubling each attempt. @default 500 */
    retryDelayMs?: number;
    /** One POST's timeout. @default 10000 */
    timeoutMs?: number;
  };
}

export interface LogCallback {
  /** Writes one line with the event to the process log. @default level 'warn' */
  log: { level?: 'info' | 'warn' | 'error' };
}

export type CallbackFunction = (event: CallbackEvent) => unknown;
export type Callback = WebhookCallback | LogCallback | CallbackFunction;
/** One callback or several, run in order; one failing does not stop the others. */
export type Callbacks = Callback | Callback[];

/** "The run for day D must succeed by D (+ dayOffset) at `time` in `timezone`." */
export interface DeadlineSpec {
  /** Local wall-clock time, 'HH:MM'. */
  time: string;
  /** IANA timezone of `time` (D is the logical date's day in the DAG's timezone). @default the DAG's timezone, else 'UTC' */
  timezone?: string;
  /** Days after D. @default 0 */
  dayOffset?: number;
}

export type CompiledCallback =
  | { kind: 'webhook'; url?: string; urlEnv?: string; headersFromEnv: Record<string, string>; retries: number; retryDelayMs: number; timeoutMs: number }
  | { kind: 'log'; level: 'info' | 'warn' | 'error' }
  | { kind: 'function'; fn: CallbackFunction };

export interface CompiledCallbacks {
  onFailure: CompiledCallback[];
  onSuccess: CompiledCallback[];
  onRetry: CompiledCallback[];
}

export interface CompiledDeadline {
  hour: number;
  minute: number;
  timezone: string;
  dayOffset: number;
  onMissed: CompiledCallback[];
}

const webhookSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }).optional(),
    urlEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
    headersFromEnv: z.record(z.string().min(1), z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')).default({}),
    retries: z.number().int().min(0).max(10).default(3),
    retryDelayMs: z.number().int().min(0).default(500),
    timeoutMs: z.number().int().positive().default(10_000),
  })
  .strict()
  .refine((w) => (w.url === undefined) !== (w.urlEnv === undefined), 'give exactly one of url and urlEnv');

const callbackSchema = z.union([
  z.custom<CallbackFunction>((v) => typeof v === 'function', 'a callback is a function, { webhook: {…} } or { log: {…} }'),
  z.object({ webhook: webhookSchema }).strict(),
  z.object({ log: z.object({ level: z.enum(['info', 'warn', 'error']).default('warn') }).strict() }).strict(),
]);

/** Accepts one callback or a list; compiles to a list. */
export const callbacksSchema = z
  .union([callbackSchema, z.array(callbackSchema)])
  .optional()
  .transform((value): CompiledCallback[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]).map(compileOne));

export const deadlineSchema = z
  .object({
    time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be 'HH:MM'"),
    timezone: z.string().optional().refine((tz) => tz === undefined || timezoneError(tz) === null, 'is not a valid IANA timezone'),
    dayOffset: z.number().int().min(0).max(31).default(0),
  })
  .strict();

function compileOne(value: z.infer<typeof callbackSchema>): CompiledCallback {
  if (typeof value === 'function') return { kind: 'function', fn: value };
  if ('webhook' in value) return { kind: 'webhook', ...value.webhook };
  return { kind: 'log', level: value.log.level };
}

export function compileDeadline(spec: z.infer<typeof deadlineSchema>, dagTimezone: string | undefined, onMissed: CompiledCallback[]): CompiledDeadline {
  const [hour, minute] = spec.time.split(':').map(Number);
  return { hour, minute, timezone: spec.timezone ?? dagTimezone ?? 'UTC', dayOffset: spec.dayOffset, onMissed };
}

/** The instant the run of `logicalDate` must have succeeded by (DST-correct, via the cron clock). */
export function deadlineFor(deadline: CompiledDeadline, logicalDate: Date, dagTimezone: string): Date {
  const day = formatDay(logicalDate, dagTimezone);
  const target = new Date(startOfDay(day, 'UTC').getTime() + deadline.dayOffset * 86_400_000).toISOString().slice(0, 10);
  const midnight = startOfDay(target, deadline.timezone);
  return nextTick(`${deadline.minute} ${deadline.hour} * * *`, deadline.timezone, new Date(midnight.getTime() - 1));
}

export interface EventRecord {
  key: string;
  dagId: string;
  runId: number | null;
  taskId?: string;
  event: CallbackEventName;
  payload: { [key: string]: Json };
}

/** Records one event in the caller's transaction; a second record of the same key is a no-op. */
export async function recordEvent(client: pg.PoolClient | pg.Pool, e: EventRecord): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO callback_events (key, dag_id, run_id, task_id, event, payload) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (key) DO NOTHING`,
    [e.key, e.dagId, e.runId, e.taskId ?? '', e.event, JSON.stringify(e.payload)],
  );
  return rowCount === 1;
}

/** The callbacks a task event runs: the task's own, plus the DAG's onRetry for a retry. */
export function taskCallbacks(dag: { callbacks: CompiledCallbacks }, task: { callbacks: CompiledCallbacks }, event: 'failure' | 'retry' | 'success'): CompiledCallback[] {
  if (event === 'failure') return task.callbacks.onFailure;
  if (event === 'success') return task.callbacks.onSuccess;
  return [...task.callbacks.onRetry, ...dag.callbacks.onRetry];
}

/** The task events a task has callbacks for: registered in dag_tasks, where the engine's SQL reads them. */
export function taskCallbackEvents(dag: { callbacks: CompiledCallbacks }, task: { callbacks: CompiledCallbacks }): string[] {
  return (['failure', 'retry', 'success'] as const).filter((event) => taskCallbacks(dag, task, event).length > 0);
}

/** The run events ('success', 'failure') a DAG has callbacks for: registered on its dags row. */
export function runCallbackEvents(dag: { callbacks: CompiledCallbacks }): string[] {
  return [...(dag.callbacks.onSuccess.length > 0 ? ['success'] : []), ...(dag.callbacks.onFailure.length > 0 ? ['failure'] : [])];
}

/**
 * A try that will be retried, recorded (trib_task_event) when callbacks listen for retries. A
 * try's success or last failure is recorded by trib_end, and a run's end by trib_advance.
 */
export async function recordRetryEvent(
  client: pg.PoolClient,
  dag: { callbacks: CompiledCallbacks },
  task: { callbacks: CompiledCallbacks },
  instanceId: number,
  tryNumber: number,
  error: string | null,
): Promise<void> {
  if (taskCallbacks(dag, task, 'retry').length === 0) return;
  await client.query('SELECT trib_task_event($1, $2, $3, $4)', [instanceId, tryNumber, 'retry', error]);
}
