/**
 * db/identifiers.ts with the user of the identifier in the message: `check "x": column "a;b"
 * is not a valid SQL identifier …` (IDENTIFIER_INVALID). Quoting rules stay in db/identifiers.ts.
 */
import { TributaryError } from '../../engine/errors.ts';
import { quoteIdent, quoteTable } from '../../db/identifiers.ts';

function labelled<T>(user: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TributaryError) throw new TributaryError(err.code, `${user}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** A validated, double-quoted column (or alias) name. */
export function column(name: string, user: string, what = 'column'): string {
  return labelled(user, () => quoteIdent(name, what));
}

/** A validated, double-quoted `table` or `schema.table`. */
export function table(name: string, user: string): string {
  return labelled(user, () => quoteTable(name));
}
