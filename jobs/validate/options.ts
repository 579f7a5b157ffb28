/**
 * Options of the `validate` kind: a list of declared checks (one SQL statement each) on tables,
 * parsed once when the DAG loads. Every identifier is validated here and quoted when compiled.
 */
import { z } from 'zod';
import { SEVERITIES, thresholdsSchema } from '../sql/outcome.ts';
import { identifier, resultName, sampleLimit, sqlText, tableName, uniqueNames } from '../sql/schemas.ts';

const columns = z.array(identifier).min(1);
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** Fields every check has. */
const common = {
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
  .object({ table: tableName.optional(), query: sqlText.optional(), alias: identifier, on: sqlText })
  .strict()
  .refine((j) => (j.table === undefined) !== (j.query === undefined), 'give exactly one of table or query');

/** A row count to compare with: another table or a trusted query's count. */
const countSource = z
  .object({ table: tableName.optional(), query: sqlText.optional(), where: sqlText.optional() })
  .strict()
  .refine((s) => (s.table === undefined) !== (s.query === undefined), 'give exactly one of table or query');

const notNull = z.object({ ...common, kind: z.literal('not_null'), columns }).strict();
const unique = z.object({ ...common, kind: z.literal('unique'), columns }).strict();
const relationship = z
  .object({
    ...common,
    kind: z.literal('relationship'),
    columns,
    to: z.object({ table: tableName, columns }).strict(),
  })
  .strict()
  .refine((c) => c.columns.length === c.to.columns.length, 'columns and to.columns must have the same length');
const acceptedValues = z
  .object({ ...common, kind: z.literal('accepted_values'), column: identifier, values: z.array(scalar).min(1) })
  .strict();
const range = z
  .object({
    ...common,
    kind: z.literal('range'),
    column: identifier,
    min: z.union([z.number(), z.string()]).optional(),
    max: z.union([z.number(), z.string()]).optional(),
    /** Bounds are allowed values. @default true */
    inclusive: z.boolean().default(true),
  })
  .strict()
  .refine((c) => c.min !== undefined || c.max !== undefined, 'give min, max or both');
const expression = z
  .object({
    ...common,
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
    kind: z.literal('row_count'),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
    equalTo: countSource.optional(),
  })
  .strict()
  .refine((c) => c.min !== undefined || c.max !== undefined || c.equalTo !== undefined, 'give min, max or equalTo');
const freshness = z
  .object({
    ...common,
    kind: z.literal('freshness'),
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
    kind: z.literal('outlier'),
    severity: z.enum(SEVERITIES).default('info'),
    column: identifier,
    /** Rows strictly above this percentile of the column fail. @default 0.99 */
    percentile: z.number().gt(0).lt(1).default(0.99),
  })
  .strict();
const customSql = z
  .object({
    ...common,
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
export const indexSpec = z.object({ table: tableName, columns }).strict();
export type IndexSpec = z.infer<typeof indexSpec>;

export const validateOptions = z
  .object({
    checks: z.array(checkSchema).min(1),
    /** Default sample size per check. @default 10 */
    sampleLimit: sampleLimit.default(10),
    /** Compute and store a quality scorecard per table. @default true */
    scorecard: z.boolean().default(true),
    /** Create the indexes the checks declare (plus `indexes`) when missing. @default false */
    ensureIndexes: z.boolean().default(false),
    /** Extra indexes to declare. @default [] */
    indexes: z.array(indexSpec).default([]),
  })
  .strict()
  .superRefine((o, ctx) => uniqueNames(o.checks, ctx, 'checks'));

export type ValidateOptions = z.infer<typeof validateOptions>;
