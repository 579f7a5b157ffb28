/**
 * Zod pieces shared by the validate, reconcile and report options: identifiers (checked when the
 * DAG loads, quoted again when compiled), names of checks, trusted SQL text, sample limits.
 */
import { z } from 'zod';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

export const identifier = z
  .string()
  .regex(IDENT, { error: (issue) => `"${String(issue.input)}" is not a plain SQL identifier (letters, digits, _)` });

export const tableName = z
  .string()
  .regex(TABLE, { error: (issue) => `"${String(issue.input)}" is not a table name (table or schema.table)` });

/** A check / reconciliation name: stored with results and shown in messages. */
export const resultName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,119}$/, 'must be 1–120 of letters, digits, _ . : -');

/** SQL written by the DAG author (trusted), with optional :named placeholders for values. */
export const sqlText = z.string().trim().min(1);

export const sampleLimit = z.number().int().min(0).max(1000);

/** Names must be unique within one task: their results are told apart by name. */
export function uniqueNames(items: ReadonlyArray<{ name: string }>, ctx: z.RefinementCtx, path: string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [path, i, 'name'], message: `duplicate name "${item.name}"` });
    seen.add(item.name);
  });
}
