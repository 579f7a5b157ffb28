/**
 * Streaming CSV tokenizer: bytes in (push/end), records out through a sink, each with the physical
 * line it starts on and its raw text. Malformed records (unterminated quote, text after a closing
 * quote, invalid UTF-8, NUL bytes, over-long records) are reported and never stop the stream.
 */
import { isAscii, isUtf8 } from 'node:buffer';

export interface CsvDialect {
  delimiter: string;
  quote: string;
  escape: string;
  /** A record longer than this (in characters) is cut off as malformed. */
  maxRecordBytes: number;
}

export type MalformedRule = 'unterminated_quote' | 'closing_quote' | 'invalid_utf8' | 'nul_byte' | 'record_too_long';

export interface RecordSink {
  /**
   * `fields` is null for a record without quotes: split `raw` by the delimiter when needed.
   * `clean`: no quote and no CR, so the raw text is valid COPY CSV as is.
   */
  record(line: number, raw: string, fields: string[] | null, clean: boolean): void;
  malformed(line: number, raw: string, fields: string[] | null, rule: MalformedRule, message: string): void;
}

const NEED_MORE = null;
interface Parsed {
  fields: string[];
  /** Index just past the record's text (before its line terminator). */
  end: number;
  /** Index where the next record starts. */
  next: number;
  lines: number;
  error?: { rule: MalformedRule; message: string };
}

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

export class CsvReader {
  private readonly d: number;
  private readonly q: number;
  private readonly e: number;
  private readonly quoteChar: string;
  private readonly delimiter: string;
  private readonly max: number;
  private text = '';
  private textHasNul = false;
  private pending: Buffer | null = null;
  private started = false;
  private discarding = false;
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
  }

  /** Fields a record should have (0: unknown); a multi-line record with another count is a broken quote. */
  expectedFields = 0;

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
    let pos = 0;
    let nextQuote = t.indexOf(this.quoteChar);
    let nextCr = t.indexOf('\r');
    if (this.discarding) {
      const nl = t.indexOf('\n');
      if (nl === -1) {
        this.text = '';
        return;
      }
      this.discarding = false;
      this.line++;
      pos = nl + 1;
    }
    while (pos < n) {
      let nl = t.indexOf('\n', pos);
      if (nl === -1) {
        if (!final) {
          // No line end within `max` characters: whatever this record is, it is too long.
          if (n - pos > this.max) {
            this.tooLong(t, pos);
            pos = n;
          }
          break;
        }
        nl = n;
      }
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = t.indexOf(this.quoteChar, pos);
      if (nextQuote === -1 || nextQuote > nl) {
        const end = nl > pos && t.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        if (end > pos) {
          if (nextCr !== -1 && nextCr < pos) nextCr = t.indexOf('\r', pos);
          const raw = t.slice(pos, end);
          this.emit(raw, null, 1, nextCr === -1 || nextCr >= end);
        }
        this.line++;
        pos = nl + 1;
        continue;
      }
      const parsed = this.parseRecord(t, pos, final);
      if (parsed === NEED_MORE) break;
      if (parsed.error?.rule === 'unterminated_quote' || (parsed.lines > 1 && (parsed.error || this.wrongCount(parsed.fields)))) {
        // A quote left open on this line swallowed the next ones: refuse only the opening line
        // and resynchronise at the next physical line.
        const firstEnd = nl > pos && t.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        this.sink.malformed(this.line, t.slice(pos, firstEnd), null, 'unterminated_quote', `a quoted field opened on line ${this.line} is not closed properly`);
        this.line++;
        pos = nl + 1;
        continue;
      }
      this.emit(t.slice(pos, parsed.end), parsed.fields, parsed.lines, false, parsed.error);
      this.line += parsed.lines;
      pos = parsed.next;
    }
    this.text = pos >= n ? '' : t.slice(pos);
    if (this.textHasNul) this.textHasNul = this.text.indexOf('\0') !== -1;
  }

  private wrongCount(fields: string[]): boolean {
    return this.expectedFields > 0 && fields.length !== this.expectedFields;
  }

  private tooLong(t: string, pos: number): void {
    this.sink.malformed(this.line, t.slice(pos, pos + Math.min(this.max, 4096)), null, 'record_too_long',
      `record longer than ${this.max} characters without a line end`);
    this.discarding = true;
  }

  private emit(raw: string, fields: string[] | null, lines: number, clean: boolean, error?: Parsed['error']): void {
    if (error) return this.sink.malformed(this.line, raw, fields, error.rule, error.message);
    if (this.badLines.size > 0) {
      for (let l = this.line; l < this.line + lines; l++) {
        if (this.badLines.delete(l)) {
          return this.sink.malformed(this.line, raw, fields ?? raw.split(this.delimiter), 'invalid_utf8', `invalid UTF-8 on line ${l}`);
        }
      }
    }
    if (this.textHasNul && raw.indexOf('\0') !== -1) {
      return this.sink.malformed(this.line, raw, fields ?? raw.split(this.delimiter), 'nul_byte', 'record contains a NUL byte');
    }
    this.sink.record(this.line, raw, fields, clean);
  }

  /** Character-level parse of one record that has a quote somewhere; null when more data is needed. */
  private parseRecord(t: string, start: number, final: boolean): Parsed | null {
    const { d, q, e, max } = this;
    const n = t.length;
    const fields: string[] = [];
    let i = start;
    let lines = 1;
    for (;;) {
      if (i < n && t.charCodeAt(i) === q) {
        let value = '';
        let seg = ++i;
        for (;;) {
          if (i >= n || i - start > max) {
            if (!final && i - start <= max) return NEED_MORE;
            return { fields, end: i, next: i, lines, error: { rule: 'unterminated_quote', message: `quoted field ${fields.length + 1} is never closed` } };
          }
          const c = t.charCodeAt(i);
          if (c === e && e !== q) {
            if (i + 1 >= n) {
              if (!final) return NEED_MORE;
              return { fields, end: n, next: n, lines, error: { rule: 'unterminated_quote', message: `quoted field ${fields.length + 1} is never closed` } };
            }
            const c2 = t.charCodeAt(i + 1);
            if (c2 === q || c2 === e) {
              value += t.slice(seg, i);
              seg = i + 1;
              i += 2;
              continue;
            }
          } else if (c === q) {
            if (i + 1 >= n && !final) return NEED_MORE;
            if (e !== q || i + 1 >= n || t.charCodeAt(i + 1) !== q) break; // closing quote
            value += t.slice(seg, i); // doubled quote: keep the second one
            seg = i + 1;
            i += 2;
            continue;
          }
          if (c === 10) lines++;
          i++;
        }
        value += t.slice(seg, i);
        i++; // closing quote
        fields.push(value);
        if (i >= n) {
          if (!final) return NEED_MORE;
          return { fields, end: n, next: n, lines };
        }
        const c = t.charCodeAt(i);
        if (c === d) {
          i++;
          continue;
        }
        if (c === 10) return { fields, end: i, next: i + 1, lines };
        if (c === 13) {
          if (i + 1 >= n && !final) return NEED_MORE;
          if (i + 1 >= n || t.charCodeAt(i + 1) === 10) return { fields, end: i, next: i + 2, lines };
        }
        // Text after a closing quote: the record ends with its physical line.
        let nl = t.indexOf('\n', i);
        if (nl === -1) {
          if (!final) return NEED_MORE;
          nl = n;
        }
        const end = nl > i && t.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        return { fields, end, next: nl + 1, lines, error: { rule: 'closing_quote', message: `text after the closing quote of field ${fields.length}` } };
      }
      let j = i;
      while (j < n) {
        const c = t.charCodeAt(j);
        if (c === d || c === 10) break;
        j++;
      }
      if (j >= n) {
        if (!final) return NEED_MORE;
        fields.push(t.slice(i, j));
        return { fields, end: n, next: n, lines };
      }
      if (t.charCodeAt(j) === d) {
        fields.push(t.slice(i, j));
        i = j + 1;
        continue;
      }
      const end = j > i && t.charCodeAt(j - 1) === 13 ? j - 1 : j;
      fields.push(t.slice(i, end));
      return { fields, end, next: j + 1, lines };
    }
  }
}
