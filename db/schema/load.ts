/**
 * Load job tables: the file ledger (one row per file loaded into a target/partition, unique by
 * content hash) and `auditTable()`, the one definition every per-job audit table is made from.
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgSchema, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** Schema holding the per-job audit tables (`audit.<target>_rejects`). */
export const auditSchema = pgSchema('audit');

/**
 * Every file a load committed. `(target, partition, sha256)` is unique: the same content is
 * skipped unless forced (a forced reload updates the row). `partition` is '' when unpartitioned.
 */
export const loadLedger = pgTable(
  'load_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    target: text('target').notNull(),
    partition: text('partition').notNull().default(''),
    sha256: text('sha256').notNull(),
    path: text('path').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    runId: text('run_id').notNull(),
    taskId: text('task_id').notNull(),
    mapIndex: integer('map_index').notNull().default(-1),
    rowsRead: bigint('rows_read', { mode: 'number' }).notNull(),
    rowsLoaded: bigint('rows_loaded', { mode: 'number' }).notNull(),
    rowsRejected: bigint('rows_rejected', { mode: 'number' }).notNull(),
    rowsDeduplicated: bigint('rows_deduplicated', { mode: 'number' }).notNull(),
    coercions: jsonb('coercions').notNull().default(sql`'{}'::jsonb`),
    loadedAt: timestamp('loaded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('load_ledger_target_partition_sha').on(t.target, t.partition, t.sha256),
    index('load_ledger_run').on(t.runId, t.taskId),
  ],
);

/** Where an audited row comes from: the task try's run, task and map index, the file and line. */
function rowOrigin() {
  return {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: text('run_id').notNull(),
    taskId: text('task_id').notNull(),
    mapIndex: integer('map_index').notNull().default(-1),
    file: text('file').notNull(),
    /** Physical line (1-based) where the record starts; a quoted field may span lines. */
    line: bigint('line', { mode: 'number' }).notNull(),
  };
}

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** The shared shape of a load job's audit table: one row per refused CSV record. */
function auditColumns() {
  return {
    ...rowOrigin(),
    /** The record's text as read (NUL shown as U+2400, invalid UTF-8 as U+FFFD). */
    raw: text('raw').notNull(),
    /** Header name → field text, or null when the record could not be split into fields. */
    record: jsonb('record'),
    /** `[{column, rule, message, value}]` — every failing column, not just the first. */
    errors: jsonb('errors').notNull(),
    reason: text('reason').notNull(),
    createdAt: createdAt(),
  };
}

/**
 * The shared shape of a load job's coercion audit (`audit.<target>_coercions`): one row per
 * declared coercion applied to a value of a row that was loaded.
 */
function coercionColumns() {
  return {
    ...rowOrigin(),
    column: text('column').notNull(),
    /** The coercion's name, e.g. `thousands_separator`. */
    coercion: text('coercion').notNull(),
    /** The value before the coercion (as read, after any earlier coercion of the same column). */
    value: text('value').notNull(),
    /** The value after it. */
    coerced: text('coerced').notNull(),
    createdAt: createdAt(),
  };
}

/** The Drizzle table for one audit table, e.g. `auditTable('audit', 'invoice_items_rejects')`. */
export function auditTable(schema: string, name: string) {
  return schema === 'public' ? pgTable(name, auditColumns()) : pgSchema(schema).table(name, auditColumns());
}

/** The Drizzle table for one coercion audit table, e.g. `coercionTable('audit', 'events_coercions')`. */
export function coercionTable(schema: string, name: string) {
  return schema === 'public' ? pgTable(name, coercionColumns()) : pgSchema(schema).table(name, coercionColumns());
}

export type AuditTable = ReturnType<typeof auditTable>;
