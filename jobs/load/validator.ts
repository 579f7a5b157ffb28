/**
 * The compiled row validator: built once per file from the compiled columns and the file's header
 * mapping. `check()` returns the row's COPY CSV line (no newline) — the raw line itself when it
 * needs no change — or DUPLICATE / REJECTED with every failing column in `errors`. Coercions are
 * committed (counted, and handed to the recorder with the line) only for rows that are accepted.
 */
import type { ColumnFn, Escaper, Fail } from './column-types.ts';
import { columnFn, COPY_NULL, emptyIsNull } from './column-types.ts';
import { compileRawRow, rangeCheck } from './fast-accept.ts';
import { KeySet } from './key-set.ts';
import type { ColumnPredicate, ColumnSpec } from './options.ts';

export interface ColumnError {
  column: string;
  rule: string;
  message: string;
  value: string | null;
}

/** One declared coercion applied to one value of the current row. */
export interface CoercionNote {
  column: string;
  coercion: string;
  /** Before the coercion. */
  value: string;
  /** After it. */
  coerced: string;
}

export const REJECTED = 0;
export const DUPLICATE = 1;

/** Columns compiled once per load; the column fns note coercions of the current row in `pending`. */
export class CompiledColumns {
  readonly fns: ColumnFn[];
  pending: CoercionNote[] = [];
  readonly applied = new Map<string, number>();
  /** Told the coercions of every accepted row, with its line (the file load audits them). */
  recorder: ((line: number, notes: CoercionNote[]) => void) | null = null;
  /** Indexes of the key columns whose first line wins within a file (onConflict 'ignore'). */
  readonly firstWins: number[];

  /** @param firstWins key columns deduplicated within a file, first line winning */
  constructor(readonly specs: readonly ColumnSpec[], readonly escape: Escaper, firstWins: readonly string[] = []) {
    this.fns = specs.map((c) => columnFn(c, (coercion, value, coerced) => this.pending.push({ column: c.name, coercion, value, coerced }), escape));
    this.firstWins = firstWins.map((name) => specs.findIndex((c) => c.name === name));
  }

  /** Counts the current row's coercions and hands them to the recorder; the row is accepted. */
  commitCoercions(line: number): void {
    const notes = this.pending;
    if (notes.length === 0) return;
    for (const n of notes) {
      const key = `${n.column}.${n.coercion}`;
      this.applied.set(key, (this.applied.get(key) ?? 0) + 1);
    }
    this.pending = [];
    this.recorder?.(line, notes);
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

/** Values seen in a column set within the file (`unique` columns, the first-wins key). */
interface SeenSet {
  columns: number[];
  policy: 'first' | 'reject';
  keys: KeySet;
}

/** The sets a file checks: each `unique` column, then the first-wins key unless a unique key column covers it. */
function seenSets(specs: readonly ColumnSpec[], firstWins: number[]): SeenSet[] {
  const sets: SeenSet[] = specs.flatMap((c, index) =>
    c.unique === 'first' || c.unique === 'reject' ? [{ columns: [index], policy: c.unique, keys: new KeySet() }] : [],
  );
  const covered = sets.some((s) => firstWins.includes(s.columns[0]));
  if (firstWins.length > 0 && !covered) sets.push({ columns: firstWins, policy: 'first', keys: new KeySet() });
  return sets;
}

export class RowValidator {
  errors: ColumnError[] = [];
  private readonly n: number;
  private readonly fns: ColumnFn[];
  private readonly names: string[];
  private readonly seen: SeenSet[];
  /** Per set, the current row's key (scratch); `hit` is the set a duplicate was found in. */
  private readonly keys: Array<string | null> = [];
  private hit: SeenSet | null = null;
  private readonly checks: Array<{ index: number; fn: ColumnPredicate }>;
  /** The record handed to custom predicates, refilled for every row (valid during the call only). */
  private readonly record: Record<string, string> = {};
  /** The same record over a raw line accepted as is: each field cut out of `line` when read. */
  private readonly lineRecord: Record<string, string> = {};
  private line = '';
  /** Where each field of the raw line accepted last ends (see compileRawRow). */
  private readonly ends: Int32Array;
  /** The encoded values of the columns in `seen`, written by the fast row check. */
  private readonly kept: string[];
  private readonly fast: (fields: string[], raw: string | null, quoted: boolean[] | null) => string | null;
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
    this.seen = seenSets(specs, columns.firstWins);
    this.checks = specs.flatMap((c, index) => (c.check ? [{ index, fn: c.check }] : []));
    this.identity = headers.length === this.n && fileIndex.every((at, i) => at === i);
    this.kept = new Array<string>(this.n);
    const keep = [...new Set(this.seen.flatMap((u) => u.columns))];
    this.fast = compileRow(this.fns, fileIndex, delimiter, keep, this.kept);
    this.ends = new Int32Array(this.n);
    this.rawRow = this.identity
      ? compileRawRow(specs.map((c, i) => rangeCheck(c, this.fns[i], columns.escape)), specs.map((c) => !emptyIsNull(c)), delimiter, this.ends)
      : null;
    headers.forEach((h, i) => Object.defineProperty(this.lineRecord, h, { enumerable: true, get: () => this.lineField(i) }));
  }

  private lineField(i: number): string {
    return this.line.slice(i === 0 ? 0 : this.ends[i - 1] + 1, this.ends[i]);
  }

  /**
   * The cheapest path: a clean record (no quote, no CR) whose every field is accepted as is goes
   * to COPY as read, never split: custom predicates and seen-value sets read the fields they need
   * in place (as read, they are the values loaded). Null: use `check()`, which decides and explains.
   */
  checkRaw(raw: string, line: number): string | null {
    if (this.rawRow === null || !this.rawRow(raw)) return null;
    if (this.checks.length > 0 || this.seen.length > 0) {
      this.line = raw;
      if (this.checks.length > 0 && !this.lineChecksPass()) return null;
      if (this.seen.length > 0 && this.lineIsDuplicate(raw)) return null;
    }
    return this.finish(raw, line);
  }

  /**
   * The fast row check first (stops at the first failure); any failure or refusal is decided and
   * explained by `checkAll`.
   * @param raw    the record's text when it can go to COPY as read (no quote, no CR), else null
   * @param quoted per field, whether it was quoted in the file (null: none was)
   */
  check(fields: string[], line: number, raw: string | null, quoted: boolean[] | null = null): string | typeof REJECTED | typeof DUPLICATE {
    this.columns.pending.length = 0;
    const joined = this.fast(fields, this.identity ? raw : null, quoted);
    if (joined === null || (this.checks.length > 0 && !this.checksPass(fields))) return this.checkAll(fields, quoted, line);
    if (this.seen.length > 0 && this.isDuplicate(this.kept)) return this.seenBefore(fields);
    if (this.columns.pending.length > 0) this.columns.commitCoercions(line);
    return this.finish(joined, line);
  }

  private finish(joined: string, line: number): string {
    if (this.withLine) return `${joined}${this.suffix}${this.delimiter}${line}`;
    return this.suffix === '' ? joined : joined + this.suffix;
  }

  /** Every column, every rule: collects all errors (the fast path stops at the first). */
  private checkAll(fields: string[], quoted: boolean[] | null, line: number): string | typeof REJECTED | typeof DUPLICATE {
    const { n, fns, fileIndex } = this;
    const out: string[] = new Array(n);
    let failed = false;
    this.columns.pending.length = 0;
    for (let i = 0; i < n; i++) {
      const at = fileIndex[i];
      const r = at < 0 ? fns[i]('') : fns[i](fields[at], quoted !== null && quoted[at]);
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
    if (this.seen.length > 0 && this.isDuplicate(out)) return this.seenBefore(fields);
    this.columns.commitCoercions(line);
    return this.finish(out.join(this.delimiter), line);
  }

  private fail(i: number, f: Fail, value: string | null): void {
    this.errors.push({ column: this.names[i], rule: f.rule, message: `${this.names[i]}: ${f.message}`, value: value === null ? null : detach(value) });
  }

  /** The record by header name, refilled in place. */
  private fill(fields: string[]): Record<string, string> {
    const { record, headers } = this;
    for (let i = 0; i < headers.length; i++) record[headers[i]] = fields[i] ?? '';
    return record;
  }

  private verdict(fn: ColumnPredicate, value: string, record: Readonly<Record<string, string>>): boolean | string {
    try {
      return fn(value, record);
    } catch (err) {
      return `check threw: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** `checksPass` over the raw line accepted last, cutting out only the fields the predicates read. */
  private lineChecksPass(): boolean {
    for (const { index, fn } of this.checks) {
      const value = this.lineField(index);
      if (value !== '' && this.verdict(fn, value, this.lineRecord) !== true) return false;
    }
    return true;
  }

  /** `isDuplicate` over the raw line accepted last: a single one-column set reads its key in place. */
  private lineIsDuplicate(raw: string): boolean {
    const columns = this.seen[0].columns;
    if (this.seen.length > 1 || columns.length > 1) return this.isDuplicate(raw.split(this.delimiter));
    const i = columns[0];
    const a = i === 0 ? 0 : this.ends[i - 1] + 1;
    this.hit = this.seen[0];
    return a !== this.ends[i] && !this.seen[0].keys.addRange(raw, a, this.ends[i]);
  }

  /** True when every custom predicate passes on a row whose columns all passed (fast path). */
  private checksPass(fields: string[]): boolean {
    const record = this.fill(fields);
    for (const { index, fn } of this.checks) {
      const at = this.fileIndex[index];
      const value = at < 0 ? '' : fields[at];
      if (value !== '' && this.verdict(fn, value, record) !== true) return false;
    }
    return true;
  }

  private runChecks(fields: string[], out: string[], failed: boolean): boolean {
    const record = this.fill(fields);
    for (const { index, fn } of this.checks) {
      const at = this.fileIndex[index];
      const value = at < 0 ? '' : fields[at];
      if (out[index] === undefined || value === '') continue; // failed its type check already, or NULL
      const verdict = this.verdict(fn, value, record);
      if (verdict === true) continue;
      if (!failed) {
        this.errors = [];
        failed = true;
      }
      this.fail(index, { rule: 'check', message: typeof verdict === 'string' ? verdict : `${JSON.stringify(value)} fails the custom check` }, value);
    }
    return failed;
  }

  /**
   * True when a set's values (from `out`, encoded, by column index) appeared earlier in the file;
   * `hit` is the set that had them. Otherwise records the row's values in every set.
   */
  private isDuplicate(out: string[]): boolean {
    const { seen, keys } = this;
    if (seen.length === 1) {
      const key = seenKey(seen[0].columns, out);
      this.hit = seen[0];
      return key !== null && !seen[0].keys.add(key);
    }
    for (let i = 0; i < seen.length; i++) {
      const key = seenKey(seen[i].columns, out);
      if (key !== null && seen[i].keys.has(key)) {
        this.hit = seen[i];
        return true;
      }
      keys[i] = key;
    }
    for (let i = 0; i < seen.length; i++) {
      const key = keys[i];
      if (key !== null) seen[i].keys.add(key);
    }
    return false;
  }

  /** A repeated value: DUPLICATE under `first`, else REJECTED with a `unique` error. */
  private seenBefore(fields: string[]): typeof REJECTED | typeof DUPLICATE {
    const u = this.hit as SeenSet;
    if (u.policy === 'first') return DUPLICATE;
    const index = u.columns[0];
    const value = fields[this.fileIndex[index]];
    this.errors = [];
    this.fail(index, { rule: 'unique', message: `${JSON.stringify(value)} appeared earlier in the file` }, value);
    return REJECTED;
  }
}

/** The key of a column set: its values joined by NUL (never in a loaded value), null when one is NULL. */
function seenKey(columns: number[], out: string[]): string | null {
  if (columns.length === 1) return out[columns[0]] === COPY_NULL ? null : out[columns[0]];
  let key = '';
  for (let j = 0; j < columns.length; j++) {
    const v = out[columns[j]];
    if (v === COPY_NULL) return null;
    key = j === 0 ? v : `${key}\0${v}`;
  }
  return key;
}

/**
 * The straight-line row check for this schema and header: one generated function calling each
 * column's closure on its field (and whether it was quoted); null at the first failure; the raw
 * line when every value came back unchanged (and `raw` is given), else the values joined. The encoded values of the `keep`
 * columns are written to `kept`. The generated source holds only numeric indices, never names or data.
 */
function compileRow(
  fns: ColumnFn[], fileIndex: number[], delimiter: string, keep: number[], kept: string[],
): (fields: string[], raw: string | null, quoted: boolean[] | null) => string | null {
  const field = (i: number) => (fileIndex[i] < 0 ? "''" : `f[${fileIndex[i]}]`);
  const call = (i: number) => (fileIndex[i] < 0 ? `fns[${i}]('')` : `fns[${i}](f[${fileIndex[i]}], q !== null && q[${fileIndex[i]}])`);
  const calls = fns.map((_, i) => `const r${i} = ${call(i)};\nif (typeof r${i} !== 'string') return null;`);
  const stores = keep.map((i) => `k[${i}] = r${i};`);
  const same = fns.map((_, i) => `r${i} === ${field(i)}`).join(' && ');
  const join = fns.map((_, i) => `r${i}`).join(' + d + ');
  const source = `return function row(f, raw, q) {\n${[...calls, ...stores].join('\n')}\nif (raw !== null && ${same}) return raw;\nreturn ${join};\n};`;
  return new Function('fns', 'd', 'k', source)(fns, delimiter, kept);
}

/** The COPY CSV suffix carrying the partition value, if any. */
export function partitionSuffix(value: string | undefined, delimiter: string, escape: Escaper): string {
  return value === undefined ? '' : `${delimiter}${escape(value)}`;
}
