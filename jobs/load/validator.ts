/**
 * The compiled row validator: built once per file from the compiled columns and the file's header
 * mapping. `check()` returns the row's COPY CSV line (no newline) — the raw line itself when it
 * needs no change — or DUPLICATE / REJECTED with every failing column in `errors`. Coercions count
 * only for rows that are loaded.
 */
import type { ColumnFn, Escaper, Fail } from './column-types.ts';
import { columnFn, COPY_NULL } from './column-types.ts';
import { compileRawRow, rangeCheck } from './fast-accept.ts';
import type { ColumnPredicate, ColumnSpec } from './options.ts';

export interface ColumnError {
  column: string;
  rule: string;
  message: string;
  value: string | null;
}

export const REJECTED = 0;
export const DUPLICATE = 1;

/** Columns compiled once per load; `note` marks a coercion on the current row. */
export class CompiledColumns {
  readonly fns: ColumnFn[];
  pending: string[] = [];
  readonly applied = new Map<string, number>();

  constructor(readonly specs: readonly ColumnSpec[], readonly escape: Escaper) {
    this.fns = specs.map((c) => columnFn(c, (what) => this.pending.push(`${c.name}.${what}`), escape));
  }

  commitCoercions(): void {
    for (const key of this.pending) this.applied.set(key, (this.applied.get(key) ?? 0) + 1);
    this.pending.length = 0;
  }

  takeCoercions(): Record<string, number> {
    const out = Object.fromEntries(this.applied);
    this.applied.clear();
    return out;
  }
}

/** A copy of `s` that does not keep the chunk it was sliced from alive. */
export function detach(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

export class RowValidator {
  errors: ColumnError[] = [];
  private readonly n: number;
  private readonly fns: ColumnFn[];
  private readonly names: string[];
  private readonly seen: Array<{ index: number; name: string; policy: 'first' | 'reject'; keys: Set<string> }>;
  private readonly checks: Array<{ index: number; fn: ColumnPredicate }>;
  private readonly fast: ((fields: string[], raw: string | null) => string | null) | null;
  private readonly identity: boolean;
  private readonly rawRow: ((s: string) => boolean) | null;

  /**
   * @param fileIndex for each declared column, its field index in the file (-1: not in the file)
   * @param headers   the file's header names, for the record handed to custom predicates
   * @param suffix    COPY CSV appended to every row (e.g. `,acme` for the partition column)
   * @param delimiter the COPY delimiter (the file's)
   */
  constructor(
    private readonly columns: CompiledColumns,
    private readonly fileIndex: number[],
    private readonly headers: string[],
    private readonly suffix: string,
    private readonly withLine: boolean,
    private readonly delimiter: string,
  ) {
    const specs = columns.specs;
    this.n = specs.length;
    this.fns = columns.fns;
    this.names = specs.map((c) => c.name);
    this.seen = specs.flatMap((c, index) =>
      c.unique === 'first' || c.unique === 'reject' ? [{ index, name: c.name, policy: c.unique, keys: new Set<string>() }] : [],
    );
    this.checks = specs.flatMap((c, index) => (c.check ? [{ index, fn: c.check }] : []));
    this.identity = headers.length === this.n && fileIndex.every((at, i) => at === i);
    this.fast = this.seen.length === 0 && this.checks.length === 0 ? compileRow(this.fns, fileIndex, delimiter) : null;
    this.rawRow = this.fast !== null && this.identity
      ? compileRawRow(specs.map((c, i) => rangeCheck(c, this.fns[i], columns.escape)), specs.map((c) => c.required), delimiter)
      : null;
  }

  /**
   * The cheapest path: a clean record (no quote, no CR) whose every field is accepted as is goes
   * to COPY as read, without being split. Null: use `check()`.
   */
  checkRaw(raw: string, line: number): string | null {
    return this.rawRow !== null && this.rawRow(raw) ? this.finish(raw, line) : null;
  }

  /**
   * @param raw   the record's text when it can go to COPY as read (no quote, no CR), else null
   */
  check(fields: string[], line: number, raw: string | null): string | typeof REJECTED | typeof DUPLICATE {
    this.columns.pending.length = 0;
    if (this.fast !== null) {
      const joined = this.fast(fields, this.identity ? raw : null);
      if (joined !== null) {
        if (this.columns.pending.length > 0) this.columns.commitCoercions();
        return this.finish(joined, line);
      }
    }
    return this.checkAll(fields, line);
  }

  private finish(joined: string, line: number): string {
    if (this.withLine) return `${joined}${this.suffix}${this.delimiter}${line}`;
    return this.suffix === '' ? joined : joined + this.suffix;
  }

  /** Every column, every rule: collects all errors (the fast path stops at the first). */
  private checkAll(fields: string[], line: number): string | typeof REJECTED | typeof DUPLICATE {
    const { n, fns, fileIndex } = this;
    const out: string[] = new Array(n);
    let failed = false;
    this.columns.pending.length = 0;
    for (let i = 0; i < n; i++) {
      const at = fileIndex[i];
      const r = fns[i](at < 0 ? '' : fields[at]);
      if (typeof r === 'string') out[i] = r;
      else {
        if (!failed) {
          this.errors = [];
          failed = true;
        }
        this.fail(i, r, at < 0 ? null : fields[at]);
      }
    }
    if (this.checks.length > 0) failed = this.runChecks(fields, out, failed);
    if (failed) return REJECTED;
    if (this.seen.length > 0) {
      const verdict = this.unique(out, fields);
      if (verdict !== null) return verdict;
    }
    this.columns.commitCoercions();
    return this.finish(out.join(this.delimiter), line);
  }

  private fail(i: number, f: Fail, value: string | null): void {
    this.errors.push({ column: this.names[i], rule: f.rule, message: `${this.names[i]}: ${f.message}`, value: value === null ? null : detach(value) });
  }

  private runChecks(fields: string[], out: string[], failed: boolean): boolean {
    const record: Record<string, string> = {};
    this.headers.forEach((h, i) => (record[h] = fields[i] ?? ''));
    for (const { index, fn } of this.checks) {
      const at = this.fileIndex[index];
      const value = at < 0 ? '' : fields[at];
      if (out[index] === undefined || value === '') continue; // failed its type check already, or NULL
      let verdict: boolean | string;
      try {
        verdict = fn(value, record);
      } catch (err) {
        verdict = `check threw: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (verdict === true) continue;
      if (!failed) {
        this.errors = [];
        failed = true;
      }
      this.fail(index, { rule: 'check', message: typeof verdict === 'string' ? verdict : `${JSON.stringify(value)} fails the custom check` }, value);
    }
    return failed;
  }

  private unique(out: string[], fields: string[]): typeof REJECTED | typeof DUPLICATE | null {
    for (const u of this.seen) {
      const key = out[u.index];
      if (key === COPY_NULL || !u.keys.has(key)) continue;
      if (u.policy === 'first') return DUPLICATE;
      this.errors = [];
      this.fail(u.index, { rule: 'unique', message: `${JSON.stringify(fields[this.fileIndex[u.index]])} appeared earlier in the file` }, fields[this.fileIndex[u.index]]);
      return REJECTED;
    }
    for (const u of this.seen) if (out[u.index] !== COPY_NULL) u.keys.add(detach(out[u.index]));
    return null;
  }
}

/**
 * The straight-line row check for this schema and header: one generated function calling each
 * column's closure on its field; null at the first failure; the raw line when every value came
 * back unchanged (and `raw` is given), else the values joined. The generated source holds only
 * numeric indices, never names or data.
 */
function compileRow(fns: ColumnFn[], fileIndex: number[], delimiter: string): (fields: string[], raw: string | null) => string | null {
  const field = (i: number) => (fileIndex[i] < 0 ? "''" : `f[${fileIndex[i]}]`);
  const calls = fns.map((_, i) => `const r${i} = fns[${i}](${field(i)});\nif (typeof r${i} !== 'string') return null;`);
  const same = fns.map((_, i) => `r${i} === ${field(i)}`).join(' && ');
  const join = fns.map((_, i) => `r${i}`).join(' + d + ');
  const source = `return function row(f, raw) {\n${calls.join('\n')}\nif (raw !== null && ${same}) return raw;\nreturn ${join};\n};`;
  return new Function('fns', 'd', source)(fns, delimiter);
}

/** The COPY CSV suffix carrying the partition value, if any. */
export function partitionSuffix(value: string | undefined, delimiter: string, escape: Escaper): string {
  return value === undefined ? '' : `${delimiter}${escape(value)}`;
}
