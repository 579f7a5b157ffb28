/**
 * Options of the `reconcile` kind: reconciliations of two keyed aggregates (each side a table or a
 * trusted query, optional where / aggregate), a tolerance, severity and thresholds.
 */
import { z } from 'zod';
import { connectionOption } from '../../engine/connections.ts';
import { SEVERITIES, thresholdsSchema } from '../sql/outcome.ts';
import { identifier, resultName, sampleLimit, sqlText, tableName, uniqueNames } from '../sql/schemas.ts';

export const AGGREGATES = ['sum', 'count', 'min', 'max', 'avg', 'last'] as const;
export const STATUSES = ['mismatched', 'left_only', 'right_only'] as const;
export type MismatchStatus = (typeof STATUSES)[number];

/**
 * One side: rows of `table` or `query` (alias `src` in `expression` / `where`), keyed by `key`,
 * valued by column `value` or trusted SQL `expression`, grouped by key when `agg` is given
 * (`last` = the value of the row with the greatest `orderBy`). Without `agg`, keys must be unique.
 */
export const sideSchema = z
  .object({
    /** This side's table (`t` or `schema.t`), read as alias `src`; give this or `query`. */
    table: tableName.optional(),
    /** Trusted SQL whose rows are this side (alias `src`); give this or `table`. */
    query: sqlText.optional(),
    /** Key columns, paired in order with the other side's `key` to join the two sides. */
    key: z.array(identifier).min(1),
    /** The column compared; give this or `expression` (neither only with agg `count`). */
    value: identifier.optional(),
    /** Trusted SQL computing the compared value per row (over `src`); give this or `value`. */
    expression: sqlText.optional(),
    /** Aggregates the value per key; `last` takes the value of the row with the greatest `orderBy`. */
    agg: z.enum(AGGREGATES).optional(),
    /** The column ordering the rows for agg `last` (greatest first, NULLs last); needed by it. */
    orderBy: identifier.optional(),
    /** Trusted SQL restricting this side's rows (alias `src`), applied before any aggregate. */
    where: sqlText.optional(),
  })
  .strict()
  .refine((s) => (s.table === undefined) !== (s.query === undefined), 'give exactly one of table or query')
  .refine((s) => !(s.value !== undefined && s.expression !== undefined), 'give value or expression, not both')
  .refine((s) => s.value !== undefined || s.expression !== undefined || s.agg === 'count', 'give value or expression')
  .refine((s) => s.agg !== 'last' || s.orderBy !== undefined, "agg 'last' needs orderBy");
export type Side = z.infer<typeof sideSchema>;

export const reconciliationSchema = z
  .object({
    /** The reconciliation's name, unique within the task: its results are stored and reported under it. */
    name: resultName,
    /** The left side; a mismatch's difference is left − right. */
    left: sideSchema,
    /** The right side, joined to the left on the key. */
    right: sideSchema,
    /** `number`: numeric difference within tolerance; `exact`: values equal (NULL = NULL). @default 'number' */
    compare: z.enum(['number', 'exact']).default('number'),
    /**
     * Values match when |left − right| ≤ absolute, or ≤ relative × max(|left|, |right|).
     * @default {} (exact numeric equality)
     */
    tolerance: z
      .object({
        /** Largest allowed |left − right|. */
        absolute: z.number().min(0).optional(),
        /** Largest allowed |left − right| as a fraction of max(|left|, |right|). */
        relative: z.number().min(0).optional(),
      })
      .strict()
      .default({}),
    /**
     * The value a key missing on that side compares as (e.g. `{ right: 0 }`: a header with no
     * detail lines of a type compares with 0), instead of counting as left_only / right_only.
     */
    absentAs: z
      .object({
        /** The value of a key missing on the left (no longer counted as right_only). */
        left: z.number().optional(),
        /** The value of a key missing on the right (no longer counted as left_only). */
        right: z.number().optional(),
      })
      .strict()
      .default({}),
    /** `error` fails the task past its error threshold, `warn` only warns, `info` never alarms. @default 'error' */
    severity: z.enum(SEVERITIES).default('error'),
    /** Limits on the failing keys (see failOn), over all keys. @default {} (any) */
    thresholds: thresholdsSchema,
    /** Which statuses count as failing. @default all three */
    failOn: z.array(z.enum(STATUSES)).min(1).default([...STATUSES]),
    /** Mismatches stored per status. @default the task's sampleLimit */
    sampleLimit: sampleLimit.optional(),
  })
  .strict()
  .refine((r) => r.left.key.length === r.right.key.length, 'left.key and right.key must have the same length');
export type Reconciliation = z.infer<typeof reconciliationSchema>;

export const reconcileOptions = z
  .object({
    /** The reconciliations to run, one SQL statement each; names are unique within the task. */
    reconciliations: z.array(reconciliationSchema).min(1),
    /** Mismatches kept per status per reconciliation (counts are always exact). @default 10 */
    sampleLimit: sampleLimit.default(10),
    /**
     * A postgres connection (`TRIB_CONN_<NAME>`) both sides are read from, in a transaction of its
     * own; the results are stored with the run. @default the database of record
     */
    connection: connectionOption('postgres').optional(),
  })
  .strict()
  .superRefine((o, ctx) => uniqueNames(o.reconciliations, ctx, 'reconciliations'));
export type ReconcileOptions = z.infer<typeof reconcileOptions>;
