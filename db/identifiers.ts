/**
 * SQL identifiers come from definitions only. They are validated once and always quoted;
 * values never go through here — they are bound parameters.
 */
import { TributaryError } from '../engine/errors.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Validates one identifier part (table, column, schema) and returns it double-quoted. */
export function quoteIdent(name: string, what = 'identifier'): string {
  if (!IDENTIFIER.test(name)) {
    throw new TributaryError(
      'IDENTIFIER_INVALID',
      `${what} "${name}" is not a valid SQL identifier (letters, digits, underscore; at most 63; not starting with a digit)`,
    );
  }
  return `"${name}"`;
}

/**
 * A user's `table` or `schema.table` → `"schema"."table"`, `public` when no schema is named:
 * always qualified, because Tributary's connections resolve unqualified names in the engine's
 * schema first (db/client.ts).
 */
export function quoteTable(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2) throw new TributaryError('IDENTIFIER_INVALID', `table "${name}" has more than one dot`);
  return (parts.length === 1 ? ['public', ...parts] : parts).map((p) => quoteIdent(p, 'table')).join('.');
}

/** Splits `schema.table` (default schema `public`) for catalog lookups. */
export function splitTable(name: string): { schema: string; table: string } {
  quoteTable(name);
  const [a, b] = name.split('.');
  return b === undefined ? { schema: 'public', table: a } : { schema: a, table: b };
}
