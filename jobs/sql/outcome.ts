/**
 * Severity and thresholds shared by checks and reconciliations (dbt `warn_if` / `error_if`):
 * (severity, thresholds, failing, evaluated) → outcome pass | warn | fail. Only `fail` fails a task.
 */
import { z } from 'zod';

export const SEVERITIES = ['info', 'warn', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Outcome = 'pass' | 'warn' | 'fail';

/**
 * A limit on failing rows. Breached when failing > `count`, or failing / evaluated > `ratio`
 * (either given limit is enough to breach). Neither given means `count: 0` (any failing row).
 */
export const thresholdSchema = z
  .object({
    /** Breached when more than this many fail. */
    count: z.number().int().min(0).optional(),
    /** Breached when failing / evaluated is above this fraction (0 to 1). */
    ratio: z.number().min(0).max(1).optional(),
  })
  .strict();
export type Threshold = z.infer<typeof thresholdSchema>;

/** Per-outcome limits; each defaults to `{ count: 0 }`. @default {} */
export const thresholdsSchema = z
  .object({
    /** Past this limit the outcome is `warn` (severity `warn` or `error`). */
    warn: thresholdSchema.optional(),
    /** Past this limit the outcome is `fail`, failing the task (severity `error` only). */
    error: thresholdSchema.optional(),
  })
  .strict()
  .default({});
export type Thresholds = z.infer<typeof thresholdsSchema>;

export function breaches(threshold: Threshold | undefined, failing: number, evaluated: number): boolean {
  const count = threshold?.count ?? (threshold?.ratio === undefined ? 0 : undefined);
  if (count !== undefined && failing > count) return true;
  const ratio = threshold?.ratio;
  return ratio !== undefined && evaluated > 0 && failing / evaluated > ratio;
}

/**
 * `error`: fail past the error limit, else warn past the warn limit. `warn`: warn past the warn
 * limit. `info`: always pass — the counts and sample are recorded for reading, never alarming.
 */
export function decideOutcome(severity: Severity, thresholds: Thresholds, failing: number, evaluated: number): Outcome {
  if (severity === 'info') return 'pass';
  if (severity === 'error' && breaches(thresholds.error, failing, evaluated)) return 'fail';
  return breaches(thresholds.warn, failing, evaluated) ? 'warn' : 'pass';
}

/** Counts per outcome, for task results. */
export function countOutcomes(outcomes: readonly Outcome[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { pass: 0, warn: 0, fail: 0 };
  for (const o of outcomes) counts[o] += 1;
  return counts;
}
