/**
 * Checks a compiled statement against the database without running it (EXPLAIN, inside a
 * savepoint when in a transaction) and turns Postgres definition errors into coded ones:
 * undefined table → TABLE_NOT_FOUND, undefined column → COLUMN_NOT_FOUND, other SQL → OPTIONS_INVALID.
 */
import type pg from 'pg';
import { TributaryError, type ErrorCode } from '../../engine/errors.ts';

interface PgError {
  code?: string;
  message: string;
  position?: string;
}

function asPgError(err: unknown): PgError | null {
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? (err as PgError) : null;
}

/** Codes for errors caused by the SQL or the definition (not by the connection): class 42 and 22. */
function codeFor(sqlstate: string): ErrorCode | null {
  if (sqlstate === '42P01') return 'TABLE_NOT_FOUND';
  if (sqlstate === '42703') return 'COLUMN_NOT_FOUND';
  if (sqlstate.startsWith('42') || sqlstate.startsWith('22')) return 'OPTIONS_INVALID';
  return null;
}

/**
 * A TributaryError for a Postgres error the definition caused, naming `user` and the statement
 * near the error position; `null` for anything else (connection loss, serialization…), which
 * callers rethrow untouched so the retry rules apply.
 */
export function definitionError(err: unknown, user: string, statement?: string): TributaryError | null {
  const pgErr = asPgError(err);
  if (!pgErr?.code) return null;
  const code = codeFor(pgErr.code);
  if (!code) return null;
  let near = '';
  const position = Number(pgErr.position);
  if (statement && Number.isInteger(position) && position > 0) {
    const snippet = statement.slice(Math.max(0, position - 25), position + 25).replace(/\s+/g, ' ').trim();
    near = ` near "${snippet}"`;
  }
  return new TributaryError(code, `${user}: ${pgErr.message} (SQLSTATE ${pgErr.code})${near}`, { cause: err });
}

/**
 * Plans `text` with EXPLAIN so a missing table or column fails before anything runs. In a
 * transaction the EXPLAIN runs inside a savepoint, so a failure leaves the transaction usable.
 */
export async function explainStatement(client: pg.PoolClient, text: string, values: unknown[], user: string): Promise<void> {
  const inTransaction = await client.query('SAVEPOINT trib_explain').then(
    () => true,
    (err: unknown) => {
      if (asPgError(err)?.code === '25P01') return false; // no transaction block: autocommit
      throw err;
    },
  );
  const explain = `EXPLAIN ${text}`;
  try {
    await client.query(explain, values);
  } catch (err) {
    if (inTransaction) await client.query('ROLLBACK TO SAVEPOINT trib_explain');
    throw definitionError(err, user, explain) ?? err;
  } finally {
    if (inTransaction) await client.query('RELEASE SAVEPOINT trib_explain');
  }
}

/** Runs a statement; Postgres errors the definition caused come back coded and labelled. */
export async function runStatement<R extends pg.QueryResultRow>(
  client: pg.PoolClient,
  text: string,
  values: unknown[],
  user: string,
): Promise<pg.QueryResult<R>> {
  try {
    return await client.query<R>(text, values);
  } catch (err) {
    throw definitionError(err, user, text) ?? err;
  }
}
