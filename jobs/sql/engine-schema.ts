/**
 * User tables never live in the engine's schema (TRIBUTARY_SCHEMA): a load, audit or history
 * table named there is refused before anything is created or written, whatever its columns.
 */
import type pg from 'pg';
import { TributaryError } from '../../engine/errors.ts';

/** The engine's schema as this connection resolves it: the first schema of its search_path. */
export async function engineSchema(client: pg.ClientBase): Promise<string | null> {
  const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  return rows[0].schema;
}

/** Throws TABLE_RESERVED when `schema` is the engine's; `what` names the table's use, e.g. "load target". */
export async function refuseEngineSchema(client: pg.ClientBase, schema: string, table: string, what: string): Promise<void> {
  if (schema !== (await engineSchema(client))) return;
  throw new TributaryError(
    'TABLE_RESERVED',
    `${what} ${schema}.${table} is in Tributary's own schema "${schema}" (TRIBUTARY_SCHEMA), where the engine keeps its tables: name a table in another schema`,
  );
}
