/**
 * First-use DDL of the tables a job writes, safe under concurrency: before creating a schema or a
 * table, a transaction takes an advisory lock named for it (held to COMMIT), always the schema's
 * before the table's, so parallel first uses wait for the creator instead of failing on a catalog
 * unique index (23505 on pg_namespace_nspname_index / pg_type_typname_nsp_index).
 */
import type pg from 'pg';
import { quoteIdent } from '../../db/identifiers.ts';

async function lock(client: pg.PoolClient, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
}

/**
 * Creates `schema` when missing and takes the lock for creating `schema.table`; the caller then
 * looks again (a concurrent creator has committed by now) and creates the table if still missing.
 * An existing schema is neither locked nor re-created (no CREATE privilege needed).
 */
export async function lockForCreate(client: pg.PoolClient, schema: string, table: string): Promise<void> {
  const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (found.rowCount === 0) {
    await lock(client, `tributary.ddl.${schema}`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  }
  await lock(client, `tributary.ddl.${schema}.${table}`);
}
