/**
 * Extract job tables: the watermark of each extract task (the highest watermark-column value it
 * committed, per DAG + task) and `historyTable()`, the one definition every per-job change
 * history table (`audit.<target>_history`) is made from.
 */
import { sql } from 'drizzle-orm';
import { bigserial, jsonb, pgSchema, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Where an incremental extract resumes: written in the same transaction as the rows it covers,
 * so a failed try leaves it where the last successful one put it.
 */
export const extractWatermarks = pgTable(
  'extract_watermarks',
  {
    dagId: text('dag_id').notNull(),
    taskId: text('task_id').notNull(),
    /** The watermark column of the records (e.g. a last-modified timestamp). */
    column: text('column').notNull(),
    /** Its highest committed value as sent to the source: ISO 8601 for timestamps, digits for integers. */
    value: text('value').notNull(),
    runId: text('run_id').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.dagId, t.taskId] })],
);

/** The shared shape of a change history table: one row per changed or reversed record. */
function historyColumns() {
  return {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: text('run_id').notNull(),
    taskId: text('task_id').notNull(),
    /** The record's key columns, e.g. `{"id": "A1"}`. */
    key: jsonb('key').notNull(),
    /** `update` (the row changed) or `reversal` (a new entry reverses this record). */
    change: text('change').notNull(),
    /** The row before (update), or the reversed record as stored (reversal; null if never seen). */
    before: jsonb('before'),
    /** The row after (update), or the reversing entry (reversal). */
    after: jsonb('after').notNull(),
    /** Columns whose value differs between before and after (empty for a reversal). */
    changedColumns: text('changed_columns').array().notNull().default(sql`'{}'::text[]`),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
  };
}

/** The Drizzle table for one history table, e.g. `historyTable('audit', 'orders_history')`. */
export function historyTable(schema: string, name: string) {
  return schema === 'public' ? pgTable(name, historyColumns()) : pgSchema(schema).table(name, historyColumns());
}
