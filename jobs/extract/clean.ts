/**
 * JSON record → the load validator's fields (declared-column order; absent or null is '') plus the
 * explicit coercions the options ask for: a default for a missing value, extra timestamp layouts
 * rewritten to ISO 8601 UTC. They count and are recorded only via `commit(line)` of an accepted record.
 */
import { validDate } from '../load/column-types.ts';
import type { ColumnSpec } from '../load/options.ts';
import type { CoercionNote } from '../load/validator.ts';
import type { JsonRecord } from './pages.ts';

type Layout = (v: string) => string | null;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

const GROUPS: Record<string, string> = {
  YYYY: '(?<YYYY>\\d{4})', MM: '(?<MM>\\d{2})', DD: '(?<DD>\\d{2})', HH: '(?<HH>\\d{2})', mm: '(?<mm>\\d{2})', ss: '(?<ss>\\d{2})',
};

/** `DD/MM/YYYY HH:mm:ss` → a parser returning `YYYY-MM-DDTHH:mm:ssZ`, or null when the value does not fit. */
export function timestampLayout(layout: string): Layout {
  const re = new RegExp(`^${layout.replace(/YYYY|MM|DD|HH|mm|ss|[-/.:]/g, (tok) => GROUPS[tok] ?? `\\${tok}`)}$`);
  return (v) => {
    const g = re.exec(v)?.groups;
    if (!g) return null;
    const [y, mo, d, h, mi, sec] = [g.YYYY, g.MM, g.DD, g.HH, g.mm, g.ss ?? '00'].map(Number);
    if (!validDate(y, mo, d) || h > 23 || mi > 59 || sec > 59) return null;
    return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(sec)}Z`;
  };
}

/** A JSON value as field text; '' stands for missing. */
export function fieldText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

interface Step {
  name: string;
  field: string;
  fallback?: string;
  layouts: Layout[];
}

export class RecordCleaner {
  /** Coercions applied to accepted records, as `<column>.<coercion>` → count. */
  readonly applied = new Map<string, number>();
  /** Told the coercions of every accepted record, with its line. */
  recorder: ((line: number, notes: CoercionNote[]) => void) | null = null;
  /** True when the options ask for any coercion of this kind. */
  readonly coerces: boolean;
  private pending: CoercionNote[] = [];
  private readonly steps: Step[];

  constructor(specs: readonly ColumnSpec[], defaults: Record<string, string>, formats: Record<string, string[]>) {
    this.steps = specs.map((c) => ({
      name: c.name,
      field: c.header ?? c.name,
      fallback: defaults[c.name],
      layouts: (formats[c.name] ?? []).map(timestampLayout),
    }));
    this.coerces = this.steps.some((s) => s.fallback !== undefined || s.layouts.length > 0);
  }

  /** The record's fields, one per declared column. */
  fields(record: JsonRecord): string[] {
    this.pending = [];
    return this.steps.map((s) => {
      const v = fieldText(record[s.field]);
      if (v === '') {
        if (s.fallback === undefined) return v;
        this.pending.push({ column: s.name, coercion: 'default', value: v, coerced: s.fallback });
        return s.fallback;
      }
      for (const layout of s.layouts) {
        const iso = layout(v);
        if (iso !== null) {
          this.pending.push({ column: s.name, coercion: 'timestamp_format', value: v, coerced: iso });
          return iso;
        }
      }
      return v;
    });
  }

  /** The last record was accepted at `line`: its coercions count and are recorded. */
  commit(line: number): void {
    const notes = this.pending;
    for (const n of notes) this.applied.set(`${n.column}.${n.coercion}`, (this.applied.get(`${n.column}.${n.coercion}`) ?? 0) + 1);
    this.pending = [];
    if (notes.length > 0) this.recorder?.(line, notes);
  }
}
