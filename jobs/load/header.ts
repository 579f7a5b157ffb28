/**
 * Header check of one file: duplicate names, missing required columns and unknown extra columns
 * are file-level errors (coded, one line, naming the file, and the likely cause when another
 * delimiter splits the header into the declared columns). Returns each declared column's field
 * index (-1 when an optional column is absent: it loads as NULL).
 */
import { TributaryError } from '../../engine/errors.ts';
import { delimiterHint } from './file-hints.ts';
import type { LoadPlan } from './plan.ts';

/** "; <the likely cause>" for a header line (its fields as split) that does not fit the declared columns, or ''. */
export function headerHint(plan: LoadPlan, fields: string[]): string {
  const required = plan.specs.filter((c) => c.required);
  const wanted = (required.length > 0 ? required : plan.specs).map((c) => c.header ?? c.name);
  const hint = delimiterHint(fields, plan.dialect.delimiter, wanted);
  return hint === null ? '' : `; ${hint}`;
}

export function headerMapping(plan: LoadPlan, fields: string[], file: string): { headers: string[]; fileIndex: number[] } {
  const headers = fields.map((f) => f.trim());
  const position = new Map<string, number>();
  headers.forEach((h, i) => {
    const earlier = position.get(h);
    if (earlier !== undefined) {
      throw new TributaryError('FILE_HEADER_DUPLICATE', `${file}: header names "${h}" twice (fields ${earlier + 1} and ${i + 1})`);
    }
    position.set(h, i);
  });
  const wanted = plan.specs.map((c) => c.header ?? c.name);
  const missing = wanted.filter((w, i) => plan.specs[i].required && !position.has(w));
  if (missing.length > 0) {
    throw new TributaryError('FILE_HEADER_MISMATCH', `${file}: header lacks required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${headerHint(plan, fields)}`);
  }
  const declared = new Set(wanted);
  const extra = headers.filter((h) => !declared.has(h));
  if (extra.length > 0 && plan.options.extraColumns === 'error') {
    throw new TributaryError('FILE_HEADER_EXTRA', `${file}: header has unknown column${extra.length > 1 ? 's' : ''} ${extra.join(', ')} (set extraColumns: 'ignore' to skip them)${headerHint(plan, fields)}`);
  }
  return { headers, fileIndex: wanted.map((w) => position.get(w) ?? -1) };
}
