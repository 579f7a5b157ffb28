/**
 * The options every generator takes ({ dir, seed, size, days?, startDate? }), parsed once with
 * zod into a compiled object, and the one way generators write their truth.json beside the data.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TributaryError } from '../engine/errors.ts';
import { parseDay } from './format.ts';

export const generatorOptions = z.object({
  /** Directory the files go to (created if missing). */
  dir: z.string().min(1),
  /** @default 1 */
  seed: z.number().int().nonnegative().default(1),
  /** Rows per file (W1, W3) or scale factor (W2, 1.0 = real counts). */
  size: z.number().positive().optional(),
  /** @default 1 — number of consecutive days of files */
  days: z.number().int().min(1).max(3660).default(1),
  /** @default '2025-05-13' — the first day, YYYY-MM-DD */
  startDate: z
    .string()
    .default('2025-05-13')
    .refine((s) => {
      try {
        parseDay(s);
        return true;
      } catch {
        return false;
      }
    }, 'startDate must be a real date YYYY-MM-DD'),
});
export type GeneratorOptionsInput = z.input<typeof generatorOptions>;

/** Parses raw options with `schema`; a bad value is one ARGUMENT_INVALID line naming the field. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.') || 'options';
    throw new TributaryError('ARGUMENT_INVALID', `${what}: ${field}: ${issue.message}`);
  }
  return parsed.data;
}

/** Writes `truth` as pretty JSON to `<dir>/truth.json` (deterministic: no paths, no clock). */
export async function writeTruth(dir: string, truth: unknown): Promise<string> {
  const file = path.join(dir, 'truth.json');
  await fs.writeFile(file, JSON.stringify(truth, null, 2) + '\n', 'utf8');
  return file;
}
