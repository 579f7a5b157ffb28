/**
 * Options of the `validate` kind: a list of declared checks (one SQL statement each) on tables,
 * parsed once when the DAG loads. Every identifier is validated here and quoted when compiled.
 */
import { z } from 'zod';
import { connectionOption } from '../../engine/connections.ts';
import { SEVERITIES, thresholdsSchema } from '../sql/outcome.ts';
import { identifier, resultName, sampleLimit, sqlText, tableName, uniqueNames } from '../sql/schemas.ts';

const columns = z.array(identifier).min(1);
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Fields every check has. */
const common = {
  /** The check's name, unique within the task: its results are stored and reported under it. */
  name: resultName,
  /** The table checked (`t` or `schema.t`); also the row the sample rows come from. */
  table: tableName,
  /** `error` fails the task past its threshold, `warn` only reports, `info` never alarms. @default 'error' */
  severity: z.enum(SEVERITIES).default('error'),
  /** Failing-row limits, in rows or as a ratio of rows evaluated. @default {} (any failing row) */
  thresholds: thresholdsSchema,
  /** Columns identifying a failing row in the sample. @default the primary key, else the check's columns */
  key: columns.optional(),
  /** Trusted SQL restricting the rows evaluated, e.g. `status <> 'Cancelled'` (:placeholders allowed). */
  where: sqlText.optional(),
  /** Failing rows kept as a sample (keys + row as JSON). @default the task's sampleLimit */
  sampleLimit: sampleLimit.optional(),
  /** Counted in the table's scorecard. @default true for row checks that are not `info` */
  scorecard: z.boolean().optional(),
  /** Name of the checked table in `where` / `expression` SQL. @default the table name without schema */
  alias: identifier.optional(),
};

/** A table joined to an expression check: a table or a trusted query, an alias and a join condition. */
const join = z
  .object({
    /** The joined table (`t` or `schema.t`); give this or `query`. */
    table: tableName.optional(),
    /** Trusted SQL whose rows are joined; give this or `table`. */
    query: sqlText.optional(),
    /** Name of the joined rows in `on` and in the check's `expression`. */
    alias: identifier,
    /** Trusted SQL condition pairing a joined row with the checked row. */
    on: sqlText,
  })
  .strict()
  .refine((j) => (j.table === undefined) !== (j.query === undefined), 'give exactly one of table or query');

/** A row count to compare with: another table or a trusted query's count. */
const countSource = z
  .object({
    /** The table whose rows are counted; give this or `query`. */
    table: tableName.optional(),
    /** Trusted SQL whose rows are counted; give this or `table`. */
    query: sqlText.optional(),
    /** Trusted SQL restricting the rows counted on this side (alias `__other`). */
    where: sqlText.optional(),
  })
  .strict()
  .refine((s) => (s.table === undefined) !== (s.query === undefined), 'give exactly one of table or query');

const notNull = z
  .object({
    ...common,
    /** A row fails when any of `columns` is NULL. */
    kind: z.literal('not_null'),
    /** Columns that must not be NULL. */
    columns,
  })
  .strict();
const unique = z
  .object({
    ...common,
    /** A row fails when another row (within `where`) has the same values in `columns`; a row with a NULL in them never fails. */
    kind: z.literal('unique'),
    /** Columns whose values together must be unique. */
    columns,
  })
  .strict();
const relationship = z
  .object({
    ...common,
    /** A row fails when its `columns`, none NULL, match no row of `to.table` (a foreign key check). */
    kind: z.literal('relationship'),
    /** The referencing columns of the checked table; a row with a NULL in any of them passes. */
    columns,
    /** The referenced table and its columns, paired with `columns` in order. */
    to: z
      .object({
        /** The referenced table (`t` or `schema.t`). */
        table: tableName,
        /** Its columns, in the order of `columns`. */
        columns,
      })
      .strict(),
  })
  .strict()
  .refine((c) => c.columns.length === c.to.columns.length, 'columns and to.columns must have the same length');
const acceptedValues = z
  .object({
    ...common,
    /** A row fails when its non-NULL `column` is not one of `values`. */
    kind: z.literal('accepted_values'),
    /** The column checked. */
    column: identifier,
    /** The allowed values, compared as text with the column cast to text. */
    values: z.array(scalar).min(1),
  })
  .strict();
const range = z
  .object({
    ...common,
    /** A row fails when its non-NULL `column` is below `min` or above `max`. */
    kind: z.literal('range'),
    /** The column checked. */
    column: identifier,
    /** Lower bound (a number, or a string such as a date), sent as a bound parameter. */
    min: z.union([z.number(), z.string()]).optional(),
    /** Upper bound (a number, or a string such as a date), sent as a bound parameter. */
    max: z.union([z.number(), z.string()]).optional(),
    /** Bounds are allowed values. @default true */
    inclusive: z.boolean().default(true),
  })
  .strict()
  .refine((c) => c.min !== undefined || c.max !== undefined, 'give min, max or both');
const expression = z
  .object({
    ...common,
    /** A row fails when `expression` is false for it (for any joined row, with `joins`). */
    kind: z.literal('expression'),
    /** Trusted SQL boolean that must hold per row; NULL counts as holding (like dbt). */
    expression: sqlText,
    /** A row fails when the expression is false for any joined row. @default [] */
    joins: z.array(join).default([]),
  })
  .strict();
const rowCount = z
  .object({
    ...common,
    /** Counts the rows (within `where`); the failing count is how far it is below `min`, above `max` or from `equalTo`'s. */
    kind: z.literal('row_count'),
    /** Fewest rows allowed. */
    min: z.number().int().min(0).optional(),
    /** Most rows allowed. */
    max: z.number().int().min(0).optional(),
    /** Another table or a trusted query whose row count this one must equal. */
    equalTo: countSource.optional(),
  })
  .strict()
  .refine((c) => c.min !== undefined || c.max !== undefined || c.equalTo !== undefined, 'give min, max or equalTo');
const freshness = z
  .object({
    ...common,
    /** Fails (as one failing row) when the newest `column` value is older than `maxAge`, or there is none. */
    kind: z.literal('freshness'),
    /** The date or timestamp column whose newest value is measured. */
    column: identifier,
    /** How old the newest value may be, e.g. `36 hours`, `2 days`, `90 minutes`. */
    maxAge: z.string().regex(/^\s*\d+(\.\d+)?\s*(second|minute|hour|day|week)s?\s*$/i, 'like "36 hours" or "2 days"'),
    /** The instant the age is measured from. @default 'logical_date' */
    relativeTo: z.enum(['logical_date', 'interval_end']).default('logical_date'),
  })
  .strict();
const outlier = z
  .object({
    ...common,
    /** A row fails when its `column` is above the column's `percentile` (over the rows within `where`). */
    kind: z.literal('outlier'),
    /** As for every check, but informational unless set. @default 'info' */
    severity: z.enum(SEVERITIES).default('info'),
    /** The numeric column compared with its percentile. */
    column: identifier,
    /** Rows strictly above this percentile of the column fail. @default 0.99 */
    percentile: z.number().gt(0).lt(1).default(0.99),
  })
  .strict();
const customSql = z
  .object({
    ...common,
    /** Every row `query` returns is a failing row. */
    kind: z.literal('custom_sql'),
    /** Trusted SQL returning the failing rows; `key` names its output columns. */
    query: sqlText,
  })
  .strict();

export const checkSchema = z.discriminatedUnion('kind', [
  notNull, unique, relationship, acceptedValues, range, expression, rowCount, freshness, outlier, customSql,
]);
export type Check = z.infer<typeof checkSchema>;
export type CheckKind = Check['kind'];

/** An index that makes checks fast; `ensureIndexes` creates the missing ones. */
export const indexSpec = z
  .object({
    /** The table indexed (`t` or `schema.t`). */
    table: tableName,
    /** The indexed columns, in order; not created when an existing index already leads with them. */
    columns,
  })
  .strict();
export type IndexSpec = z.infer<typeof indexSpec>;

export const validateOptions = z
  .object({
    /** The checks to run, one SQL statement each; names are unique within the task. */
    checks: z.array(checkSchema).min(1),
    /** Default sample size per check. @default 10 */
    sampleLimit: sampleLimit.default(10),
    /** Compute and store a quality scorecard per table. @default true */
    scorecard: z.boolean().default(true),
    /** Create the indexes the checks declare (plus `indexes`) when missing. @default false */
    ensureIndexes: z.boolean().default(false),
    /** Extra indexes to declare. @default [] */
    indexes: z.array(indexSpec).default([]),
    /**
     * A postgres connection (`TRIB_CONN_<NAME>`) whose tables are checked, in a transaction of its
     * own; the results are stored with the run. @default the database of record
     */
    connection: connectionOption('postgres').optional(),
  })
  .strict()
  .superRefine((o, ctx) => uniqueNames(o.checks, ctx, 'checks'));

export type ValidateOptions = z.infer<typeof validateOptions>;
