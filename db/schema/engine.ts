/**
 * Engine tables: the state of record. BullMQ only carries work; everything here survives a
 * Redis wipe, and the sweeper rebuilds queues from it.
 */
import { sql } from 'drizzle-orm';
import {
  bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, bigint,
} from 'drizzle-orm/pg-core';

/** Every DAG the scheduler has seen, with the operator's pause flag. */
export const dags = pgTable('dags', {
  dagId: text('dag_id').primaryKey(),
  file: text('file').notNull(),
  paused: boolean('paused').notNull().default(false),
  /**
   * Why it is paused: 'creation' (registered paused: the scheduler creates no runs, manual and
   * backfill runs still start) or 'operator' (`trib pause`, the UI, the API: nothing starts).
   * NULL when not paused (or paused before this column existed: treated as 'operator').
   */
  pausedBy: text('paused_by'),
  schedule: text('schedule'),
  timezone: text('timezone'),
  /** The DAG's maxActiveRuns, read by the hand-off that starts a queued run when one ends. */
  maxActiveRuns: integer('max_active_runs').notNull().default(1),
  /** Run events ('success', 'failure') the DAG has callbacks for: the run's end records them. */
  runCallbacks: text('run_callbacks').array().notNull().default(sql`'{}'::text[]`),
  /** The DAG's runFailsOn, read when a run ends: 'leaves' (Airflow's leaf rule) or 'any_failed'. */
  runFailsOn: text('run_fails_on').notNull().default('leaves'),
  /** The registered version (engine/dag-version.ts): a hash of the DAG's file, graph, options and the handlers of its kinds. */
  version: text('version'),
  /**
   * The schedule's progress: the newest logical date the scheduler has created (or found) a run
   * for, advanced in the transaction that creates it. The next interval is the first tick after
   * it, whatever retention deleted. NULL until the first pass: the newest scheduled run stands in.
   */
  lastScheduledAt: timestamp('last_scheduled_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Each registered DAG's task graph as the engine's SQL functions read it (engine/sql):
 * trigger rules, edges, queue and mapping. Rewritten whenever a process registers the DAG.
 */
export const dagTasks = pgTable(
  'dag_tasks',
  {
    dagId: text('dag_id').notNull().references(() => dags.dagId, { onDelete: 'cascade' }),
    taskId: text('task_id').notNull(),
    /** Position in a topological order (upstreams first). */
    ord: integer('ord').notNull(),
    upstream: text('upstream').array().notNull(),
    downstream: text('downstream').array().notNull(),
    triggerRule: text('trigger_rule').notNull(),
    /** The job kind, which is also the BullMQ queue its jobs go to. */
    queue: text('queue').notNull(),
    priority: integer('priority'),
    retries: integer('retries').notNull(),
    mapOverTask: text('map_over_task'),
    mapOverPath: text('map_over_path'),
    /** Task events ('success', 'failure', 'retry') that have callbacks: their end records them. */
    callbackEvents: text('callback_events').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.dagId, t.taskId] })],
);

/** One run per DAG and logical date: the unique index makes run creation idempotent. */
export const dagRuns = pgTable(
  'dag_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    dagId: text('dag_id').notNull(),
    logicalDate: timestamp('logical_date', { withTimezone: true }).notNull(),
    intervalEnd: timestamp('interval_end', { withTimezone: true }).notNull(),
    state: text('state').notNull().default('queued'),
    runType: text('run_type').notNull(), // scheduled | manual | backfill
    params: jsonb('params').notNull().default(sql`'{}'::jsonb`),
    /** Who asked for a manual or backfill run (audit actor, e.g. `ana`, `token`, `cli:ana`); null for the scheduler's. */
    triggeredBy: text('triggered_by'),
    /** The DAG's version (dags.version) when the run was created. */
    dagVersion: text('dag_version'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('dag_runs_dag_logical_date').on(t.dagId, t.logicalDate),
    index('dag_runs_state').on(t.state),
    // A DAG's runs newest created first (ids follow creation): the DAG list's last run and strip.
    index('dag_runs_dag_id').on(t.dagId, t.id),
  ],
);

/** One row per task per run (map_index -1), plus one per mapped item (0..n-1). */
export const taskInstances = pgTable(
  'task_instances',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' }).notNull().references(() => dagRuns.id, { onDelete: 'cascade' }),
    taskId: text('task_id').notNull(),
    mapIndex: integer('map_index').notNull().default(-1),
    state: text('state').notNull().default('none'),
    tryNumber: integer('try_number').notNull().default(0),
    maxTries: integer('max_tries').notNull().default(1),
    jobId: text('job_id'),
    queue: text('queue').notNull(),
    mapItem: jsonb('map_item'),
    result: jsonb('result'),
    resumeState: jsonb('resume_state'),
    /** Times a sensor re-scheduled itself within the current try (part of its job id). */
    pokes: integer('pokes').notNull().default(0),
    error: text('error'),
    errorCode: text('error_code'),
    worker: text('worker'),
    /** Deliveries claimed within the current try (each one is a task_attempts row). */
    attempt: integer('attempt').notNull().default(0),
    /** Attempts of the current try whose worker was lost (lease expired while running). */
    lostAttempts: integer('lost_attempts').notNull().default(0),
    /** Engine retries of the current try after infrastructure errors (not the task's own retries). */
    infraRetries: integer('infra_retries').notNull().default(0),
    /** The running attempt's lease: renewed by its worker's heartbeat; past it, the worker is lost. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** When a delayed job (retry backoff, sensor poke) may run: the sweeper keeps this delay. */
    notBefore: timestamp('not_before', { withTimezone: true }),
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    startedAt: timestamp('started_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    durationMs: integer('duration_ms'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('task_instances_run_task_map').on(t.runId, t.taskId, t.mapIndex),
    // Instances not over yet: whether a run or a mapped task has any left is one index probe; the
    // dashboard's counts of active tasks read it too. No index on state alone: every try changes
    // the state twice, and eight workers inserting the same few keys into one btree cost the
    // fan-out ~20% of its Postgres CPU (migration 0020).
    index('task_instances_unfinished')
      .on(t.runId, t.taskId, t.mapIndex)
      .where(sql`state IN ('none', 'queued', 'running', 'up_for_retry', 'mapped')`),
  ],
);

/** History of every try (the current one is also mirrored on task_instances). */
export const taskTries = pgTable(
  'task_tries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    taskInstanceId: bigint('task_instance_id', { mode: 'number' })
      .notNull()
      .references(() => taskInstances.id, { onDelete: 'cascade' }),
    tryNumber: integer('try_number').notNull(),
    state: text('state').notNull(),
    worker: text('worker'),
    startedAt: timestamp('started_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    durationMs: integer('duration_ms'),
    error: text('error'),
    errorCode: text('error_code'),
  },
  (t) => [uniqueIndex('task_tries_instance_try').on(t.taskInstanceId, t.tryNumber)],
);

/**
 * Every delivery a worker claimed (an attempt of a try): who ran it, when, and how it ended —
 * `success`, `failed`, `lost` (its worker died or stopped renewing its lease), `infra_error`
 * (retried by the engine), `superseded` (a newer attempt took over), `interrupted` (an operator's
 * clear or mark took its task over; its try row ends `interrupted` too).
 */
export const taskAttempts = pgTable(
  'task_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    taskInstanceId: bigint('task_instance_id', { mode: 'number' })
      .notNull()
      .references(() => taskInstances.id, { onDelete: 'cascade' }),
    tryNumber: integer('try_number').notNull(),
    attempt: integer('attempt').notNull(),
    state: text('state').notNull(),
    worker: text('worker').notNull(),
    /** The DAG version the worker ran the attempt with (its own loaded copy; the run page flags one other than the run's). */
    dagVersion: text('dag_version'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    error: text('error'),
    errorCode: text('error_code'),
    /** The Postgres backend running the attempt's transaction: a takeover ends it, so a stopped worker holds no locks. */
    backendPid: integer('backend_pid'),
    /** When the attempt's worker came back after its claim was taken over, found it lost and committed nothing. */
    fencedAt: timestamp('fenced_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('task_attempts_instance_try_attempt').on(t.taskInstanceId, t.tryNumber, t.attempt)],
);

/** Log lines of a try, kept for `trib logs` and the dashboard. */
export const taskLogs = pgTable(
  'task_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    taskInstanceId: bigint('task_instance_id', { mode: 'number' })
      .notNull()
      .references(() => taskInstances.id, { onDelete: 'cascade' }),
    tryNumber: integer('try_number').notNull(),
    level: text('level').notNull(),
    message: text('message').notNull(),
    fields: jsonb('fields'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('task_logs_instance').on(t.taskInstanceId, t.tryNumber)],
);
