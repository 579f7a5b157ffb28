/**
 * The tables a load keeps on a warehouse connection, created there on first use (idempotent, safe
 * under concurrency: ddl-lock.ts) from Drizzle definitions: in the warehouse schema named like the
 * engine's (`tributary`; `trib dags test` runs on `tributary_test`, so a test load never marks a
 * file loaded for the real runs), the file ledger (the same definition as the engine's,
 * db/schema/load.ts) and the inbox (below); the audit tables are made as on the database of record
 * (audit.ts). A load's warehouse transaction puts that schema first on its search_path
 * (warehouse.ts), so the ledger code runs unchanged.
 */
import { bigint, integer, jsonb, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { quoteTable } from '../../db/identifiers.ts';
import { loadLedger } from '../../db/schema/load.ts';
import { createIndexesSql, createTableSql } from './audit.ts';
import { lockForCreate } from './ddl-lock.ts';

/** The default warehouse schema (the engine schema's default name). */
export const WAREHOUSE_SCHEMA = 'tributary';

/**
 * One row per try whose load committed on the warehouse: written in the load's own transaction, so
 * it exists exactly when the rows do. A later delivery of the same try finds it and ends with
 * `result` instead of loading again (docs/warehouse.md). `run_created_us` (the engine run's
 * creation, µs since 1970) tells apart the runs of two engines loading into one warehouse.
 */
const inboxIn = (schema: string) => pgSchema(schema).table(
  'load_inbox',
  {
    runCreatedUs: bigint('run_created_us', { mode: 'number' }).notNull(),
    taskInstanceId: bigint('task_instance_id', { mode: 'number' }).notNull(),
    tryNumber: integer('try_number').notNull(),
    attempt: integer('attempt').notNull(),
    dagId: text('dag_id').notNull(),
    runId: text('run_id').notNull(),
    taskId: text('task_id').notNull(),
    mapIndex: integer('map_index').notNull(),
    /** The load's result, as the task ends with it. */
    result: jsonb('result').notNull(),
    committedAt: timestamp('committed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runCreatedUs, t.taskInstanceId, t.tryNumber, t.attempt] })],
);

export type LoadInbox = ReturnType<typeof inboxIn>;
const inboxes = new Map<string, LoadInbox>();

/** The inbox table in warehouse schema `schema`. */
export function loadInbox(schema: string = WAREHOUSE_SCHEMA): LoadInbox {
  let table = inboxes.get(schema);
  if (!table) inboxes.set(schema, (table = inboxIn(schema)));
  return table;
}

/** Creates the warehouse's ledger and inbox in `schema` when missing (inside the caller's transaction). */
export async function ensureWarehouseTables(client: pg.PoolClient, schema: string = WAREHOUSE_SCHEMA): Promise<void> {
  for (const table of [loadLedger, loadInbox(schema)] as PgTable[]) {
    const name = getTableConfig(table).name;
    const qualified = quoteTable(`${schema}.${name}`);
    const exists = async () => (await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [qualified])).rows[0].ok as boolean;
    if (await exists()) continue;
    await lockForCreate(client, schema, name);
    if (await exists()) continue;
    await client.query(createTableSql(table, schema));
    for (const statement of createIndexesSql(table, schema)) await client.query(statement);
  }
}
