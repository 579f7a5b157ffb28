/**
 * A second engine schema in the same database, for `trib dags test`: the engine's tables copied
 * from a migrated engine schema (columns, defaults, constraints, indexes; its own sequences) and
 * the engine's functions (engine/sql) applied to it. Runs there are invisible to every process on
 * the source schema, while tasks still write the database's real user tables.
 * Migrations cannot make it: drizzle records them once per database, and they also create user
 * schemas. The copy is kept while its tables match the source's (same fingerprint: columns, types,
 * defaults, constraints, indexes); after a migration of the source its tables are dropped and
 * made again (its runs go). Runs under the migration lock, so it never copies a half-migrated schema.
 */
import type pg from 'pg';
import { withTransaction } from './client.ts';
import { applyEngineSql } from './engine-sql.ts';
import { quoteIdent } from './identifiers.ts';
import { MIGRATION_LOCK_KEY } from './migrate.ts';
import { ENGINE_TABLES } from './schema/engine-tables.ts';
import { TributaryError } from '../engine/errors.ts';

interface Structure {
  tables: string[];
  /** Sequences owned by a column (bigserial): table, column, sequence. */
  sequences: Array<{ table: string; column: string; name: string }>;
  defaults: Array<{ table: string; column: string; expr: string }>;
  /** Primary keys, unique, check and exclusion constraints first, foreign keys last. */
  constraints: Array<{ table: string; name: string; def: string }>;
  /** Indexes that back no constraint, as CREATE INDEX statements without the schema. */
  indexes: string[];
  fingerprint: string;
}

/**
 * What `schema` holds of the engine's tables, read with `schema` alone on the search_path so
 * every name in the definitions is unqualified (they apply unchanged in another schema).
 */
async function readStructure(client: pg.PoolClient, schema: string): Promise<Structure> {
  await client.query(`SET LOCAL search_path = ${quoteIdent(schema, 'engine schema')}`);
  const args = [schema, ENGINE_TABLES];
  const inSchema = `n.nspname = $1 AND c.relname = ANY($2) AND c.relkind IN ('r', 'p')`;
  const tables = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${inSchema} ORDER BY 1`, args,
  );
  const columns = await client.query<{ line: string }>(
    `SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END AS line
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE ${inSchema} ORDER BY 1`, args,
  );
  const defaults = await client.query<{ table: string; column: string; expr: string }>(
    `SELECT c.relname AS table, a.attname AS column, pg_get_expr(d.adbin, d.adrelid) AS expr
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attrdef d ON d.adrelid = c.oid JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.adnum
     WHERE ${inSchema} ORDER BY 1, 2`, args,
  );
  const sequences = await client.query<{ table: string; column: string; name: string }>(
    `SELECT c.relname AS table, a.attname AS column, s.relname AS name
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_depend dep ON dep.refobjid = c.oid AND dep.classid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
     JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = dep.refobjsubid
     WHERE ${inSchema} ORDER BY 1, 2`, args,
  );
  const constraints = await client.query<{ table: string; name: string; def: string }>(
    `SELECT c.relname AS table, con.conname AS name, pg_get_constraintdef(con.oid) AS def
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${inSchema} AND con.contype IN ('p', 'u', 'c', 'x', 'f')
     ORDER BY con.contype = 'f', 1, 2`, args,
  );
  const indexes = await client.query<{ def: string }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS def
     FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${inSchema}
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
     ORDER BY 1`, args,
  );
  // pg_get_indexdef always names the table's schema.
  const unqualified = indexes.rows.map((r) => r.def.replace(` ON ${schema}.`, ' ON ').replace(` ON ONLY ${schema}.`, ' ON ONLY '));
  const lines = [
    ...columns.rows.map((r) => r.line),
    ...defaults.rows.map((d) => `${d.table}.${d.column} default ${d.expr}`),
    ...constraints.rows.map((k) => `${k.table} ${k.name} ${k.def}`),
    ...unqualified,
  ];
  const { rows: [{ md5 }] } = await client.query<{ md5: string }>('SELECT md5($1)', [lines.join('\n')]);
  return {
    tables: tables.rows.map((r) => r.name),
    sequences: sequences.rows,
    defaults: defaults.rows,
    constraints: constraints.rows,
    indexes: unqualified,
    fingerprint: md5,
  };
}

/**
 * Makes the engine's tables of `to` anew like those of `source` (read from schema `from`). Only
 * the engine's tables go (with their sequences, and the functions over their row types): the
 * postgres queue backend may keep its own tables in the same schema (a queue prefix equal to it).
 */
async function build(client: pg.PoolClient, from: string, to: string, source: Structure, old: readonly string[]): Promise<void> {
  const dst = quoteIdent(to, 'engine schema');
  const src = quoteIdent(from, 'engine schema');
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${dst}`);
  for (const table of old) await client.query(`DROP TABLE IF EXISTS ${dst}.${quoteIdent(table)} CASCADE`);
  await client.query(`SET LOCAL search_path = ${dst}`);
  for (const table of source.tables) await client.query(`CREATE TABLE ${quoteIdent(table)} (LIKE ${src}.${quoteIdent(table)})`);
  for (const s of source.sequences) {
    await client.query(`CREATE SEQUENCE ${quoteIdent(s.name)} OWNED BY ${quoteIdent(s.table)}.${quoteIdent(s.column)}`);
  }
  // Unqualified in the source, so a nextval() names this schema's own sequence.
  for (const d of source.defaults) {
    await client.query(`ALTER TABLE ${quoteIdent(d.table)} ALTER COLUMN ${quoteIdent(d.column)} SET DEFAULT ${d.expr}`);
  }
  for (const k of source.constraints) await client.query(`ALTER TABLE ${quoteIdent(k.table)} ADD CONSTRAINT ${quoteIdent(k.name)} ${k.def}`);
  for (const index of source.indexes) await client.query(index);
}

/**
 * Makes `to` an engine schema like `from` (which must be migrated), keeping it and its runs when
 * its tables already match; applies the engine's functions to it either way. Returns whether it
 * was (re)built.
 */
export async function copyEngineSchema(pool: pg.Pool, from: string, to: string): Promise<{ rebuilt: boolean }> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    const source = await readStructure(client, from);
    if (!source.tables.includes('dag_runs')) {
      throw new TributaryError('CONFIG_INVALID', `engine schema "${from}" has no tables: run \`trib migrate\` on this database first`);
    }
    const current = await readStructure(client, to);
    const rebuilt = current.fingerprint !== source.fingerprint || current.tables.length !== source.tables.length;
    if (rebuilt) await build(client, from, to, source, current.tables);
    await applyEngineSql(client, to);
    return { rebuilt };
  });
}
