/**
 * Streaming CSV tokenizer: bytes in (push/end), records out through a sink, each with the physical
 * lines it spans (first, last), its raw text and, per field, whether it was quoted.
 *
 * A quoted field is one field whatever it holds: a quote opens a field only at the field's start and
 * closes it only when followed by the delimiter, a line end or the end of the file; `""` (or the
 * escape character) inside it is a literal quote. A quote followed by other text (`"abc"tail`) does
 * not close it: the field goes on to the next quote that can close it, and the whole record — every
 * line it spans — is refused as ONE malformed record (`text_after_quote`), so text inside quotes
 * never becomes a record and a record is never re-read from its inner lines. A quote inside an
 * unquoted field (no line break there) opens nothing: it is a literal character, or with
 * `strayQuotes: 'refuse'` its record is refused (`stray_quote`). A record longer than
 * `maxRecordBytes` characters (its line end not counted) is refused as one (`record_too_long`) and
 * skipped to its real end with the same rules, holding only its first 4 KiB. A quoted field still
 * open at the end of the file is one malformed record (`unterminated_quote`) from its first line to
 * the last (see file-load.ts). Invalid UTF-8 and NUL bytes refuse their record. Blank lines are
 * skipped (counted as lines). Where chunks end never changes a record or its verdict.
 */
import { isAscii, isUtf8 } from 'node:buffer';

export interface CsvDialect {
  delimiter: string;
  quote: string;
  escape: string;
  /** A record longer than this many characters, its line end not counted, is refused as malformed. */
  maxRecordBytes: number;
  /** A quote inside an unquoted field: a character of the value, or its record refused. @default 'literal' */
  strayQuotes?: 'literal' | 'refuse';
}

export type MalformedRule = 'unterminated_quote' | 'text_after_quote' | 'stray_quote' | 'invalid_utf8' | 'nul_byte' | 'record_too_long';

export interface RecordSink {
  /**
   * One well-formed record on lines `line`..`lastLine`. `fields` and `quoted` are null for a record
   * without quotes (split `raw` by the delimiter when needed; no field is quoted).
   * `clean`: no quote and no CR, so the raw text is valid COPY CSV as is.
   */
  record(line: number, lastLine: number, raw: string, fields: string[] | null, quoted: boolean[] | null, clean: boolean): void;
  /** One refused record on lines `line`..`lastLine` (`raw` is cut to 4 KiB for an over-long one). */
  malformed(line: number, lastLine: number, raw: string, fields: string[] | null, rule: MalformedRule, message: string): void;
}

/** Where the tokenizer is within a record (kept across chunks while an over-long record is skipped). */
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** A quote inside a quoted field: closing, doubled or stray, the next character decides. */
const QUOTE = 3;
/** A quote then CR inside a quoted field. */
const QUOTE_CR = 4;
/** The escape character (when it is not the quote) inside a quoted field. */
const ESCAPE = 5;
type At = typeof FIELD_START | typeof UNQUOTED | typeof QUOTED | typeof QUOTE | typeof QUOTE_CR | typeof ESCAPE;

interface Parsed {
  fields: string[];
  quoted: boolean[];
  /** Index just past the record's text (before its line terminator). */
  end: number;
  /** Index where the next record starts. */
  next: number;
  /** Physical lines the record spans. */
  lines: number;
  error?: { rule: MalformedRule; message: string };
}

/** The record outgrew `max` at `pos` in state `at`, with `lines` lines so far. */
interface TooLong {
  pos: number;
  at: At;
  lines: number;
  /** The line of a quote followed by text in the open quoted field, if one was seen. */
  after?: number;
}

/** An over-long record being skipped to its real end. */
interface Skipping {
  first: number;
  head: string;
  at: At;
  /** The last character skipped was a line end. */
  lf: boolean;
  /** The line of a quote followed by text in the open quoted field, if one was seen. */
  after?: number;
}

const NEED_MORE = null;
const HEAD = 4096;

/** Bytes of `buf` that end on a whole UTF-8 character (a split character waits for the next chunk). */
function completeUtf8Length(buf: Buffer): number {
  const n = buf.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const b = buf[n - k];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > k ? n - k : n;
  }
  return n;
}

const lineRange = (first: number, last: number) => (last > first ? `lines ${first}–${last}` : `line ${first}`);
const SNIPPET = 20;

export class CsvReader {
  private readonly d: number;
  private readonly q: number;
  private readonly e: number;
  private readonly quoteChar: string;
  private readonly delimiter: string;
  private readonly max: number;
  private readonly refuseStray: boolean;
  private text = '';
  private textHasNul = false;
  private pending: Buffer | null = null;
  private started = false;
  private skipping: Skipping | null = null;
  /** Physical line number of the first character of `text`. */
  private line = 1;
  /** Physical lines holding invalid UTF-8 (filled only when a chunk fails validation). */
  private readonly badLines = new Set<number>();

  constructor(dialect: CsvDialect, private readonly sink: RecordSink) {
    this.d = dialect.delimiter.charCodeAt(0);
    this.q = dialect.quote.charCodeAt(0);
    this.e = dialect.escape.charCodeAt(0);
    this.quoteChar = dialect.quote;
    this.delimiter = dialect.delimiter;
    this.max = dialect.maxRecordBytes;
    this.refuseStray = dialect.strayQuotes === 'refuse';
  }

  /** Physical lines seen so far (the last line counts even without a terminator). */
  get lines(): number {
    return this.line - 1;
  }

  push(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    if (!this.started) {
      if (buf.length < 3) {
        this.pending = Buffer.from(buf);
        return;
      }
      this.started = true;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    const cut = completeUtf8Length(buf);
    if (cut < buf.length) this.pending = Buffer.from(buf.subarray(cut));
    this.decode(buf.subarray(0, cut));
    this.parse(false);
  }

  end(): void {
    const rest = this.pending;
    this.pending = null;
    if (rest) {
      this.started = true;
      const body = rest[0] === 0xef && rest[1] === 0xbb && rest[2] === 0xbf ? rest.subarray(3) : rest;
      this.decode(body);
    }
    this.parse(true);
  }

  private decode(body: Buffer): void {
    if (body.length === 0) return;
    let str: string;
    if (isAscii(body)) str = body.toString('latin1'); // the common case, and the cheapest decode
    else {
      if (!isUtf8(body)) this.markBadLines(body);
      str = body.toString('utf8');
    }
    if (str.indexOf('\0') !== -1) this.textHasNul = true;
    this.text = this.text.length === 0 ? str : this.text + str;
  }

  private markBadLines(body: Buffer): void {
    let line = this.line;
    for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) line++;
    for (let start = 0; start < body.length; line++) {
      let nl = body.indexOf(10, start);
      if (nl === -1) nl = body.length;
      if (!isUtf8(body.subarray(start, nl))) this.badLines.add(line);
      start = nl + 1;
    }
  }

  private parse(final: boolean): void {
    const t = this.text;
    const n = t.length;
    let pos = this.skipping === null ? 0 : this.skip(t, 0, final);
    let nextQuote = t.indexOf(this.quoteChar, pos);
    let nextCr = t.indexOf('\r', pos);
    while (pos < n) {
      let nl = t.indexOf('\n', pos);
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = t.indexOf(this.quoteChar, pos);
      const quoteFree = nextQuote === -1 || (nl !== -1 && nextQuote > nl);
      // Without its line end yet: a CR at the end of the text may be half of a CRLF, not counted.
      const sofar = nl === -1 ? n - pos - (t.charCodeAt(n - 1) === 13 ? 1 : 0) : 0;
      if (nl === -1 && !final && (quoteFree || sofar <= this.max)) {
        if (sofar <= this.max) break;
        pos = this.startSkipping(t, pos, { pos: n, at: t.charCodeAt(n - 1) === this.d ? FIELD_START : UNQUOTED, lines: 1 }, final);
        continue;
      }
      if (nl === -1) nl = n;
      if (quoteFree) {
        const end = nl > pos && t.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end - pos > this.max) {
          this.sink.malformed(this.line, this.line, t.slice(pos, pos + HEAD), null, 'record_too_long', `record longer than ${this.max} characters (line ${this.line})`);
        } else if (end > pos) {
          if (nextCr !== -1 && nextCr < pos) nextCr = t.indexOf('\r', pos);
          this.emit(t.slice(pos, end), null, null, 1, nextCr === -1 || nextCr >= end);
        }
        this.line++;
        pos = nl + 1;
        continue;
      }
      const parsed = this.parseRecord(t, pos, final);
      if (parsed === NEED_MORE) break;
      if ('at' in parsed) {
        pos = this.startSkipping(t, pos, parsed, final);
        continue;
      }
      this.emit(t.slice(pos, parsed.end), parsed.fields, parsed.quoted, parsed.lines, false, parsed.error);
      this.line += parsed.lines;
      pos = parsed.next;
    }
    this.text = pos >= n ? '' : t.slice(pos);
    if (this.textHasNul) this.textHasNul = this.text.indexOf('\0') !== -1;
  }

  /** An over-long record from `pos`: keeps its head and skips from where the parse stopped. */
  private startSkipping(t: string, pos: number, at: TooLong, final: boolean): number {
    this.skipping = { first: this.line, head: t.slice(pos, pos + HEAD), at: at.at, lf: false, after: at.after };
    this.line += at.lines - 1;
    return this.skip(t, at.pos, final);
  }

  /**
   * Skips an over-long record quote-aware from `from` to its real end (an unquoted line end) and
   * reports it; returns where the next record starts, or `t.length` when the end is not in `t` yet.
   */
  private skip(t: string, from: number, final: boolean): number {
    const s = this.skipping as Skipping;
    const { d, q, e } = this;
    const n = t.length;
    let at = s.at;
    for (let i = from; i < n; i++) {
      const c = t.charCodeAt(i);
      if (at === QUOTE) {
        if (c === q && e === q) at = QUOTED;
        else if (c === 13) at = QUOTE_CR;
        else if (c === d) {
          at = FIELD_START; // the field closed: a later open field is another's
          s.after = undefined;
        } else if (c === 10) return this.skipped(i + 1, 'record_too_long');
        else {
          at = this.inQuotes(c); // text after a quote: still inside the field
          s.after ??= this.line;
        }
        continue;
      }
      if (at === QUOTE_CR) {
        if (c === 10) return this.skipped(i + 1, 'record_too_long');
        at = this.inQuotes(c);
        s.after ??= this.line;
        continue;
      }
      if (at === ESCAPE) {
        at = c === q || c === e ? QUOTED : this.inQuotes(c);
        if (c === 10 && at === QUOTED) this.line++;
        continue;
      }
      if (at === QUOTED) {
        at = this.inQuotes(c);
        if (c === 10) this.line++;
        continue;
      }
      if (c === 10) return this.skipped(i + 1, 'record_too_long');
      if (c === d) at = FIELD_START;
      else if (at === FIELD_START) at = c === q ? QUOTED : UNQUOTED;
    }
    s.at = at;
    if (n > from) s.lf = t.charCodeAt(n - 1) === 10;
    if (final) {
      const open = at === QUOTED || at === ESCAPE;
      if (open && s.lf) this.line--; // the file's last line end closes the last line, not the field
      this.skipped(n, open ? 'unterminated_quote' : 'record_too_long');
    }
    return n;
  }

  /** The state after character `c` inside a quoted field (a line end is counted by the caller). */
  private inQuotes(c: number): At {
    if (c === this.e && this.e !== this.q) return ESCAPE;
    return c === this.q ? QUOTE : QUOTED;
  }

  private skipped(next: number, rule: MalformedRule): number {
    const s = this.skipping as Skipping;
    this.skipping = null;
    const range = lineRange(s.first, this.line);
    const open = s.after === undefined
      ? `a quoted field of the record on line ${s.first} is never closed`
      : `a quoted field of the record on line ${s.first} closes on line ${s.after} but text follows; no later quote closes it: the file ends inside it`;
    const message = rule === 'unterminated_quote' ? `${open} (${range}, to the end of the file)` : `record longer than ${this.max} characters (${range})`;
    this.sink.malformed(s.first, this.line, s.head, null, rule, message);
    this.line++;
    return next;
  }

  private emit(raw: string, fields: string[] | null, quoted: boolean[] | null, lines: number, clean: boolean, error?: Parsed['error']): void {
    const last = this.line + lines - 1;
    if (error) return this.sink.malformed(this.line, last, raw, fields, error.rule, `${error.message} (${lineRange(this.line, last)})`);
    if (this.badLines.size > 0) {
      for (let l = this.line; l <= last; l++) {
        if (this.badLines.delete(l)) {
          return this.sink.malformed(this.line, last, raw, fields ?? raw.split(this.delimiter), 'invalid_utf8', `invalid UTF-8 on line ${l}`);
        }
      }
    }
    if (this.textHasNul && raw.indexOf('\0') !== -1) {
      return this.sink.malformed(this.line, last, raw, fields ?? raw.split(this.delimiter), 'nul_byte', 'record contains a NUL byte');
    }
    this.sink.record(this.line, last, raw, fields, quoted, clean);
  }

  /**
   * Character-level parse of one record that has a quote somewhere: the record, NEED_MORE when the
   * text ends inside it, or where it outgrew `max` (the caller skips the rest).
   */
  private parseRecord(t: string, start: number, final: boolean): Parsed | TooLong | null {
    const { d, q, e, max } = this;
    const n = t.length;
    const limit = start + max;
    const fields: string[] = [];
    const quoted: boolean[] = [];
    let error: Parsed['error'];
    let i = start;
    let lines = 1;
    for (;;) {
      if (i < n && t.charCodeAt(i) === q) {
        const opened = this.line + lines - 1;
        /** Where a quote of this field was followed by text, described; the field stays open. */
        let after: string | null = null;
        let afterLine = 0;
        let value = '';
        let seg = ++i;
        for (;;) {
          if (i >= limit) return { pos: i, at: QUOTED, lines, after: after === null ? undefined : afterLine };
          if (i >= n) {
            if (!final) return NEED_MORE;
            const end = t.charCodeAt(n - 1) === 10 ? (n > 1 && t.charCodeAt(n - 2) === 13 ? n - 2 : n - 1) : n;
            if (end < n) lines--; // the file's last line end closes the last line, not the field
            const message = after === null
              ? `quoted field ${fields.length + 1} is never closed, to the end of the file`
              : `${after}; no later quote closes it: the file ends inside it`;
            return { fields, quoted, end, next: n, lines, error: { rule: 'unterminated_quote', message } };
          }
          const c = t.charCodeAt(i);
          if (c === q || (c === e && e !== q)) {
            if (i + 2 >= n && !final) return NEED_MORE;
            const c2 = t.charCodeAt(i + 1);
            if (c === e && e !== q) {
              if (c2 === q || c2 === e) {
                value += t.slice(seg, i);
                seg = i + 1;
                i += 2;
              } else i++;
              continue;
            }
            if (c2 === q && e === q) {
              value += t.slice(seg, i); // doubled quote: keep the second one
              seg = i + 1;
              i += 2;
              continue;
            }
            if (i + 1 >= n || c2 === d || c2 === 10 || (c2 === 13 && (i + 2 >= n || t.charCodeAt(i + 2) === 10))) break;
            if (after === null) {
              afterLine = this.line + lines - 1;
              after = `quoted field ${fields.length + 1}, opened on line ${opened}, closes at line ${afterLine} character ${this.column(t, i)} but text follows (\`${this.snippet(t, i + 1)}\`)`;
            }
          } else if (c === 10) lines++;
          i++;
        }
        value += t.slice(seg, i);
        i++; // closing quote
        fields.push(value);
        quoted.push(true);
        if (after !== null) {
          error ??= { rule: 'text_after_quote', message: `${after}: the field runs on to the next quote that can close it, on line ${this.line + lines - 1}` };
        }
        if (i >= n) return { fields, quoted, end: n, next: n, lines, error };
        const c = t.charCodeAt(i);
        if (c === d) {
          i++;
          continue;
        }
        if (c === 10) return { fields, quoted, end: i, next: i + 1, lines, error };
        if (i + 1 >= n) return { fields, quoted, end: i, next: n, lines, error }; // CR at the end of the file
        return { fields, quoted, end: i, next: i + 2, lines, error }; // CR LF
      }
      let j = i;
      while (j < n) {
        const c = t.charCodeAt(j);
        if (c === d || c === 10) break;
        if (c === q && this.refuseStray && error === undefined) {
          const text = this.snippet(t, i, 2 * SNIPPET);
          error = {
            rule: 'stray_quote',
            message: `quote inside unquoted field ${fields.length + 1} at line ${this.line + lines - 1} character ${this.column(t, j)} (\`${text}\`): a quote opens a field only at its start (csv.strayQuotes 'literal' keeps it as text)`,
          };
        }
        j++;
      }
      // The record's length so far, without a CR that ends it (or may, when the text ends there).
      const cr = j > i && t.charCodeAt(j - 1) === 13 && (j >= n || t.charCodeAt(j) === 10) ? 1 : 0;
      if (j - cr - start > max) return { pos: j, at: UNQUOTED, lines };
      if (j >= n) {
        if (!final) return NEED_MORE;
        fields.push(t.slice(i, j - cr));
        quoted.push(false);
        return { fields, quoted, end: j - cr, next: n, lines, error };
      }
      if (t.charCodeAt(j) === d) {
        fields.push(t.slice(i, j));
        quoted.push(false);
        i = j + 1;
        continue;
      }
      fields.push(t.slice(i, j - cr));
      quoted.push(false);
      return { fields, quoted, end: j - cr, next: j + 1, lines, error };
    }
  }

  /** The 1-based character of `t[i]` within its physical line. */
  private column(t: string, i: number): number {
    return i - (t.lastIndexOf('\n', i - 1) + 1) + 1;
  }

  /** Up to `size` characters of `t` from `from`, to the next delimiter or line end. */
  private snippet(t: string, from: number, size = SNIPPET): string {
    let end = from;
    while (end < t.length && end - from < size) {
      const c = t.charCodeAt(end);
      if (c === this.d || c === 10 || c === 13) break;
      end++;
    }
    const cut = end - from === size && end < t.length && t.charCodeAt(end) !== this.d && t.charCodeAt(end) !== 10 && t.charCodeAt(end) !== 13;
    return t.slice(from, end) + (cut ? '…' : '');
  }
}
