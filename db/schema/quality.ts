/**
 * Quality tables: results of validate / reconcile / report tasks, one row per check (or table,
 * reconciliation, report) per try. History is kept — rows are only ever inserted — except
 * `reports`, which holds the current file of each (run, task, path). No FKs to engine tables.
 */
import { sql } from 'drizzle-orm';
import {
  bigint, bigserial, boolean, index, integer, jsonb, numeric, pgTable, text, timestamp, uniqueIndex,
} from 'drizzle-orm/pg-core';

/** One row per check per try: counts, outcome and a sample of the failing keys and rows. */
export const checkResults = pgTable(
  'check_results',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    taskId: text('task_id').notNull(),
    tryNumber: integer('try_number').notNull().default(1),
    checkName: text('check_name').notNull(),
    checkKind: text('check_kind').notNull(),
    tableName: text('table_name').notNull(),
    severity: text('severity').notNull(), // info | warn | error
    rowsEvaluated: bigint('rows_evaluated', { mode: 'number' }).notNull(),
    rowsFailing: bigint('rows_failing', { mode: 'number' }).notNull(),
    outcome: text('outcome').notNull(), // pass | warn | fail
    thresholds: jsonb('thresholds').notNull().default(sql`'{}'::jsonb`),
    sampleKeys: jsonb('sample_keys').notNull().default(sql`'[]'::jsonb`),
    sampleRows: jsonb('sample_rows').notNull().default(sql`'[]'::jsonb`),
    durationMs: integer('duration_ms').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('check_results_run_task').on(t.runId, t.taskId),
    index('check_results_check_history').on(t.checkName, t.createdAt),
  ],
);

/** Per table per try: rows failing no (scorecard-counted) check vs rows failing at least one. */
export const qualityScorecards = pgTable(
  'quality_scorecards',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    taskId: text('task_id').notNull(),
    tryNumber: integer('try_number').notNull().default(1),
    tableName: text('table_name').notNull(),
    totalRows: bigint('total_rows', { mode: 'number' }).notNull(),
    cleanRows: bigint('clean_rows', { mode: 'number' }).notNull(),
    rowsWithIssues: bigint('rows_with_issues', { mode: 'number' }).notNull(),
    score: numeric('score', { precision: 5, scale: 2 }).notNull(), // percent clean, 0.00–100.00
    checks: jsonb('checks').notNull().default(sql`'[]'::jsonb`), // names of the checks counted
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('quality_scorecards_run_task').on(t.runId, t.taskId), index('quality_scorecards_table').on(t.tableName, t.createdAt)],
);

/** One row per reconciliation per try: exact counts by status and the outcome. */
export const reconcileResults = pgTable(
  'reconcile_results',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    taskId: text('task_id').notNull(),
    tryNumber: integer('try_number').notNull().default(1),
    name: text('name').notNull(),
    leftSource: text('left_source').notNull(),
    rightSource: text('right_source').notNull(),
    severity: text('severity').notNull(),
    keysTotal: bigint('keys_total', { mode: 'number' }).notNull(),
    matched: bigint('matched', { mode: 'number' }).notNull(),
    mismatched: bigint('mismatched', { mode: 'number' }).notNull(),
    leftOnly: bigint('left_only', { mode: 'number' }).notNull(),
    rightOnly: bigint('right_only', { mode: 'number' }).notNull(),
    outcome: text('outcome').notNull(), // pass | warn | fail
    tolerance: jsonb('tolerance').notNull().default(sql`'{}'::jsonb`),
    thresholds: jsonb('thresholds').notNull().default(sql`'{}'::jsonb`),
    durationMs: integer('duration_ms').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('reconcile_results_run_task').on(t.runId, t.taskId), index('reconcile_results_history').on(t.name, t.createdAt)],
);

/** A sample of the keys that did not match (up to the sample limit per status). */
export const reconcileMismatches = pgTable(
  'reconcile_mismatches',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    resultId: bigint('result_id', { mode: 'number' })
      .notNull()
      .references(() => reconcileResults.id, { onDelete: 'cascade' }),
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    taskId: text('task_id').notNull(),
    name: text('name').notNull(),
    status: text('status').notNull(), // mismatched | left_only | right_only
    key: jsonb('key').notNull(),
    leftValue: text('left_value'),
    rightValue: text('right_value'),
    difference: numeric('difference'), // left - right, when both are numbers
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('reconcile_mismatches_result').on(t.resultId), index('reconcile_mismatches_run_task').on(t.runId, t.taskId)],
);

/** The current file of each (run, task, path); re-running the run replaces the row with the file. */
export const reports = pgTable(
  'reports',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' }).notNull(),
    taskId: text('task_id').notNull(),
    path: text('path').notNull(),
    fileName: text('file_name').notNull(),
    logicalDate: timestamp('logical_date', { withTimezone: true }).notNull(),
    rowCount: bigint('row_count', { mode: 'number' }).notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    columns: jsonb('columns').notNull(),
    /** The first `keepRows` rows (default 10,000) as JSON objects, for the dashboard API. */
    rows: jsonb('rows').notNull(),
    rowsTruncated: boolean('rows_truncated').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('reports_run_task_path').on(t.runId, t.taskId, t.path), index('reports_task_latest').on(t.taskId, t.createdAt)],
);
