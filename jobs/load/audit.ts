/**
 * A load job's audit table: created on first use from the one Drizzle definition
 * (`auditTable()` in db/schema/load.ts), and filled with refused rows in batches (one
 * parameterised INSERT … SELECT FROM unnest per batch) on the task's transaction.
 */
import { is, SQL } from 'drizzle-orm';
import { getTableConfig, PgDialect } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { auditTable } from '../../db/schema/load.ts';
import { quoteIdent, quoteTable, splitTable } from '../../db/identifiers.ts';

export interface AuditRow {
  line: number;
  raw: string;
  /** JSON text of the record (header → field), or null when it could not be split. */
  record: string | null;
  /** JSON text of `[{column, rule, message, value}]`. */
  errors: string;
  reason: string;
}

export interface AuditTarget {
  schema: string;
  table: string;
  /** Quoted `"schema"."table"`. */
  sql: string;
}

/** `audit.<table>_rejects` by default (`<schema>_<table>_rejects` for a non-public target schema). */
export function auditTarget(target: string, explicit?: string): AuditTarget {
  const { schema, table } = explicit ? splitTable(explicit) : defaultAudit(target);
  return { schema, table, sql: quoteTable(`${schema}.${table}`) };
}

function defaultAudit(target: string): { schema: string; table: string } {
  const t = splitTable(target);
  const base = t.schema === 'public' ? t.table : `${t.schema}_${t.table}`;
  return { schema: 'audit', table: `${base.slice(0, 63 - '_rejects'.length)}_rejects` };
}

function literal(value: unknown, dialect: PgDialect): string {
  if (is(value, SQL)) return dialect.sqlToQuery(value).sql;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** CREATE TABLE IF NOT EXISTS for a Drizzle table definition (columns, defaults, primary key). */
export function createTableSql(table: ReturnType<typeof auditTable>): string {
  const config = getTableConfig(table);
  const dialect = new PgDialect();
  const columns = config.columns.map((c) => {
    const parts = [quoteIdent(c.name), c.getSQLType()];
    if (c.primary) parts.push('PRIMARY KEY');
    if (c.notNull && !c.primary) parts.push('NOT NULL');
    if (c.default !== undefined) parts.push(`DEFAULT ${literal(c.default, dialect)}`);
    return parts.join(' ');
  });
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(`${config.schema ?? 'public'}.${config.name}`)} (${columns.join(', ')})`;
}

/** Creates the schema and table if missing; concurrent first uses are serialised by a lock. */
export async function ensureAuditTable(client: pg.PoolClient, audit: AuditTarget): Promise<void> {
  const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [audit.sql]);
  if (exists.rows[0].ok) return;
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tributary.ddl.${audit.schema}.${audit.table}`]);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(audit.schema)}`);
  await client.query(createTableSql(auditTable(audit.schema, audit.table)));
  await client.query(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${audit.table.slice(0, 50)}_run`)} ON ${audit.sql} (run_id, task_id)`,
  );
}

export interface AuditContext {
  runId: string;
  taskId: string;
  mapIndex: number;
  file: string;
}

/** Inserts one batch of refused rows. */
export async function insertAuditRows(client: pg.PoolClient, audit: AuditTarget, ctx: AuditContext, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO ${audit.sql} (run_id, task_id, map_index, file, line, raw, record, errors, reason)
     SELECT $1, $2, $3, $4, u.line, u.raw, u.record, u.errors, u.reason
       FROM unnest($5::bigint[], $6::text[], $7::jsonb[], $8::jsonb[], $9::text[]) AS u(line, raw, record, errors, reason)`,
    [
      ctx.runId, ctx.taskId, ctx.mapIndex, ctx.file,
      rows.map((r) => r.line), rows.map((r) => r.raw), rows.map((r) => r.record), rows.map((r) => r.errors), rows.map((r) => r.reason),
    ],
  );
}
