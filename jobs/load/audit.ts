/**
 * A load job's audit tables: refused rows (`<target>_rejects`) and applied coercions (its sibling
 * `<target>_coercions`), created on first use from the Drizzle definitions in db/schema/load.ts
 * (`auditTable()`, `coercionTable()`), and filled in batches on the task's transaction: refused rows
 * by one COPY per batch, coercions by one parameterised INSERT … SELECT FROM unnest (it returns ids).
 */
import { is, SQL } from 'drizzle-orm';
import { getTableConfig, PgDialect, type PgTable } from 'drizzle-orm/pg-core';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { auditTable, coercionTable } from '../../db/schema/load.ts';
import { quoteIdent, quoteTable, splitTable } from '../../db/identifiers.ts';
import { refuseEngineSchema } from '../sql/engine-schema.ts';
import { lockForCreate } from './ddl-lock.ts';

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

/**
 * A job's own table beside its target: `audit.<table><suffix>` by default (`<schema>_<table><suffix>`
 * for a non-public target schema), or the explicit `schema.table`. @default suffix `_rejects`
 */
export function auditTarget(target: string, explicit?: string, suffix = '_rejects'): AuditTarget {
  const { schema, table } = explicit ? splitTable(explicit) : defaultAudit(target, suffix);
  return { schema, table, sql: quoteTable(`${schema}.${table}`) };
}

function defaultAudit(target: string, suffix: string): { schema: string; table: string } {
  const t = splitTable(target);
  const base = t.schema === 'public' ? t.table : `${t.schema}_${t.table}`;
  return { schema: 'audit', table: `${base.slice(0, 63 - suffix.length)}${suffix}` };
}

/** The coercion table beside an audit table: `x_rejects` → `x_coercions`, else `<audit>_coercions`. */
export function coercionTarget(audit: AuditTarget): AuditTarget {
  const base = audit.table.endsWith('_rejects') ? audit.table.slice(0, -'_rejects'.length) : audit.table;
  const table = `${base.slice(0, 63 - '_coercions'.length)}_coercions`;
  return { schema: audit.schema, table, sql: quoteTable(`${audit.schema}.${table}`) };
}

function literal(value: unknown, dialect: PgDialect): string {
  if (is(value, SQL)) return dialect.sqlToQuery(value).sql;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}

/**
 * CREATE TABLE IF NOT EXISTS for a Drizzle table definition (columns, defaults, primary key), in its
 * own schema or in `schema`.
 */
export function createTableSql(table: PgTable, schema?: string): string {
  const config = getTableConfig(table);
  const dialect = new PgDialect();
  const columns = config.columns.map((c) => {
    const parts = [quoteIdent(c.name), c.getSQLType()];
    if (c.primary) parts.push('PRIMARY KEY');
    if (c.notNull && !c.primary) parts.push('NOT NULL');
    if (c.default !== undefined) parts.push(`DEFAULT ${literal(c.default, dialect)}`);
    return parts.join(' ');
  });
  const keys = config.primaryKeys.map((pk) => `PRIMARY KEY (${pk.columns.map((c) => quoteIdent(c.name)).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(`${schema ?? config.schema ?? 'public'}.${config.name}`)} (${[...columns, ...keys].join(', ')})`;
}

/** CREATE [UNIQUE] INDEX IF NOT EXISTS for each plain-column index of a Drizzle table definition, in `schema`. */
export function createIndexesSql(table: PgTable, schema: string): string[] {
  const config = getTableConfig(table);
  return config.indexes.map(({ config: index }) => {
    const columns = index.columns.map((c) => quoteIdent((c as { name: string }).name)).join(', ');
    return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${quoteIdent(index.name ?? '')} ON ${quoteTable(`${schema}.${config.name}`)} (${columns})`;
  });
}

/** Creates a job table (schema, table, run index) if missing; concurrent first uses wait for the creator (ddl-lock.ts). */
export async function ensureJobTable(client: pg.PoolClient, target: AuditTarget, definition: PgTable): Promise<void> {
  await refuseEngineSchema(client, target.schema, target.table, 'job table');
  const exists = async () => (await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [target.sql])).rows[0].ok as boolean;
  if (await exists()) return;
  await lockForCreate(client, target.schema, target.table);
  if (await exists()) return;
  await client.query(createTableSql(definition));
  await client.query(
    `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${target.table.slice(0, 50)}_run`)} ON ${target.sql} (run_id, task_id)`,
  );
}

export async function ensureAuditTable(client: pg.PoolClient, audit: AuditTarget): Promise<void> {
  await ensureJobTable(client, audit, auditTable(audit.schema, audit.table));
}

export async function ensureCoercionTable(client: pg.PoolClient, target: AuditTarget): Promise<void> {
  await ensureJobTable(client, target, coercionTable(target.schema, target.table));
}

export interface AuditContext {
  runId: string;
  taskId: string;
  mapIndex: number;
  file: string;
}

/** One batch as `INSERT … SELECT <context>, u.* FROM unnest(<parallel arrays>)`: SQL text and values. */
function batchInsert(
  table: string, ctx: AuditContext, columns: Array<{ name: string; type: string; values: unknown[] }>,
): { text: string; values: unknown[] } {
  const names = columns.map((c) => quoteIdent(c.name));
  const arrays = columns.map((c, i) => `$${i + 5}::${c.type}[]`);
  return {
    text: `INSERT INTO ${table} (run_id, task_id, map_index, file, ${names.join(', ')})
     SELECT $1, $2, $3, $4, ${names.map((n) => `u.${n}`).join(', ')} FROM unnest(${arrays.join(', ')}) AS u(${names.join(', ')})`,
    values: [ctx.runId, ctx.taskId, ctx.mapIndex, ctx.file, ...columns.map((c) => c.values)],
  };
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One value in COPY's text format: `\N` for NULL; backslash, newline, carriage return and tab escaped. */
function copyValue(value: string | number | null): string {
  if (value === null) return '\\N';
  const text = String(value);
  return /[\\\n\r\t]/.test(text) ? text.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]) : text;
}

/**
 * Inserts one batch of refused rows by COPY (text format). The same batch as parallel array
 * parameters cost ~50 µs a row in Node and Postgres (16,000 refused rows of the merchant day: 0.8 s,
 * the load's connection waiting meanwhile); COPY parses each value once.
 */
export async function insertAuditRows(client: pg.PoolClient, audit: AuditTarget, ctx: AuditContext, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  const context = [ctx.runId, ctx.taskId, ctx.mapIndex, ctx.file].map(copyValue).join('\t');
  const lines = rows.map((r) => `${context}\t${[r.line, r.raw, r.record, r.errors, r.reason].map(copyValue).join('\t')}\n`);
  const copy = client.query(copyFrom(`COPY ${audit.sql} (run_id, task_id, map_index, file, line, raw, record, errors, reason) FROM STDIN`));
  await pipeline([Buffer.from(lines.join(''), 'utf8')], copy);
}

/** One applied coercion of a loaded row. */
export interface CoercionRow {
  line: number;
  column: string;
  coercion: string;
  value: string;
  coerced: string;
}

/** Inserts one batch of coercion rows; returns the id and line of each row written. */
export async function insertCoercionRows(
  client: pg.PoolClient, target: AuditTarget, ctx: AuditContext, rows: CoercionRow[],
): Promise<Array<{ id: number; line: number }>> {
  if (rows.length === 0) return [];
  const { text, values } = batchInsert(target.sql, ctx, [
    { name: 'line', type: 'bigint', values: rows.map((r) => r.line) },
    { name: 'column', type: 'text', values: rows.map((r) => r.column) },
    { name: 'coercion', type: 'text', values: rows.map((r) => r.coercion) },
    { name: 'value', type: 'text', values: rows.map((r) => r.value) },
    { name: 'coerced', type: 'text', values: rows.map((r) => r.coerced) },
  ]);
  const res = await client.query<{ id: string; line: string }>(`${text} RETURNING id, line`, values);
  return res.rows.map((r) => ({ id: Number(r.id), line: Number(r.line) }));
}
