/**
 * Column types compiled once per schema: each declared column becomes one closure that takes the
 * field text and returns its COPY CSV encoding ('' for NULL) or a `Fail {rule, message}`. A valid
 * value that needs no change is returned as the very same string (the row can then go out as read).
 * No per-row interpretation of the spec; coercions are reported through `note()` when applied.
 */
import { roundDecimal } from './decimal.ts';
import type { ColumnSpec } from './options.ts';

export interface Fail {
  rule: string;
  message: string;
}
/** `quoted`: the field was quoted in the file (only an empty field reads differently). */
export type ColumnFn = (value: string, quoted?: boolean) => string | Fail;
/** Told each declared coercion a column fn applies: its name and the value before and after it. */
export type NoteCoercion = (coercion: string, before: string, after: string) => void;

/** NULL in COPY CSV: an unquoted empty field. */
export const COPY_NULL = '';
const fail = (rule: string, message: string): Fail => ({ rule, message });
const show = (v: string) => JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);

/** Encodes a text value as one COPY CSV field: quoted when it holds the delimiter, the quote, CR or LF. */
export type Escaper = (v: string) => string;

const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

export function csvEscaper(delimiter: string, quote: string): Escaper {
  const special = new RegExp(`[${unicodeEscape(delimiter)}${unicodeEscape(quote)}\\r\\n]`);
  const quotes = new RegExp(unicodeEscape(quote), 'g');
  const doubled = quote + quote;
  // Empty text must stay non-NULL, and `\.` alone would end the COPY: quote both.
  return (v) => (v === '' || v === '\\.' || special.test(v) ? quote + v.replace(quotes, doubled) + quote : v);
}

/** The Postgres type a created table uses for a column. */
export function sqlType(c: ColumnSpec): string {
  switch (c.type) {
    case 'numeric': return c.precision === undefined ? 'numeric' : `numeric(${c.precision},${c.scale ?? 0})`;
    case 'text': case 'pattern': return c.maxLength ? `varchar(${c.maxLength})` : 'text';
    case 'enum': return 'text';
    case 'timestamp': return 'timestamp(6)';
    case 'timestamptz': return 'timestamptz(6)';
    default: return c.type;
  }
}

const INT = /^[+-]?\d+$/;
const THOUSANDS_INT = /^[+-]?\d{1,3}(,\d{3})+$/;
const THOUSANDS_DEC = /^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-](\d{2})(?::?(\d{2}))?)?$/;
export const INT_RANGE = { integer: [-2147483648, 2147483647], bigint: [-9223372036854775808n, 9223372036854775807n] } as const;
/**
 * PostgreSQL's own limits, whatever the column declares (numeric.c, datetime.h): a numeric holds at
 * most 131072 digits before the point and 16383 after it as written (trailing zeros count: the input
 * keeps them); a UTC offset is at most 15:59 (MAX_TZDISP_HOUR; ':60' minutes are refused).
 */
export const PG_LIMITS = { numericIntDigits: 131072, numericPlaces: 16383, offsetHours: 15 } as const;

function rangeCheck(n: number, min: number | undefined, max: number | undefined, v: string): Fail | null {
  if (min !== undefined && n < min) return fail('min', `${show(v)} is below the minimum ${min}`);
  if (max !== undefined && n > max) return fail('max', `${show(v)} is above the maximum ${max}`);
  return null;
}

export function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1 || y < 1) return false;
  const days = m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  return d <= days;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** The number written by the digits v[a..b), or -1 when one is not a digit. */
export function digitsAt(v: string, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** A date layout such as `DD/MM/YYYY` → a parser returning ISO `YYYY-MM-DD` or null. */
function dateLayout(format: string): (v: string) => string | null {
  if (format === 'YYYY-MM-DD') {
    return (v) => {
      if (v.length !== 10 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) return null;
      const y = digitsAt(v, 0, 4), m = digitsAt(v, 5, 7), d = digitsAt(v, 8, 10);
      return validDate(y, m, d) ? v : null;
    };
  }
  const order: string[] = [];
  const source = format.replace(/YYYY|MM|DD|[.\-/ ]/g, (tok) => {
    if (tok.length === 1) return `\\${tok}`;
    order.push(tok);
    return tok === 'YYYY' ? '(\\d{4})' : '(\\d{2})';
  });
  const re = new RegExp(`^${source}$`);
  return (v) => {
    const m = re.exec(v);
    if (!m) return null;
    const parts: Record<string, number> = {};
    order.forEach((tok, i) => (parts[tok] = +m[i + 1]));
    return validDate(parts.YYYY, parts.MM, parts.DD) ? `${pad(parts.YYYY, 4)}-${pad(parts.MM, 2)}-${pad(parts.DD, 2)}` : null;
  };
}

/** Number-like coercions shared by integer, bigint and numeric. */
function numberCoercions(c: ColumnSpec, note: NoteCoercion, pattern: RegExp) {
  const thousands = c.coerce.includes('thousands_separator');
  const negZero = c.coerce.includes('negative_zero');
  return {
    thousands: (v: string): string | null => {
      if (!thousands || !pattern.test(v)) return null;
      const out = v.replace(/,/g, '');
      note('thousands_separator', v, out);
      return out;
    },
    zero: (v: string, isZero: boolean): string => {
      if (!negZero || !isZero || v.charCodeAt(0) !== 45) return v;
      note('negative_zero', v, v.slice(1));
      return v.slice(1);
    },
  };
}

function integerFn(c: Extract<ColumnSpec, { type: 'integer' | 'bigint' }>, note: NoteCoercion): ColumnFn {
  const co = numberCoercions(c, note, THOUSANDS_INT);
  const [lo, hi] = INT_RANGE[c.type];
  const { min, max } = c;
  return (raw) => {
    let v = raw;
    if (!INT.test(v)) {
      const t = co.thousands(v);
      if (t === null) return fail('type', `${show(raw)} is not an ${c.type === 'integer' ? 'integer' : 'integer (bigint)'}`);
      v = t;
    }
    const n = Number(v);
    if (c.type === 'integer' ? n < lo || n > hi : v.replace(/^[+-]?0*/, '').length >= 19 && (BigInt(v) < lo || BigInt(v) > hi)) {
      return fail('range', `${show(raw)} is out of range for ${c.type}`);
    }
    return rangeCheck(n, min, max, raw) ?? co.zero(v, n === 0);
  };
}

export interface NumberShape {
  /** Significant integer digits. */
  int: number;
  /** Significant decimals (trailing zeros do not count). */
  frac: number;
  /** Digits after the point as written (trailing zeros count). */
  places: number;
  zero: boolean;
}
const SHAPE: NumberShape = { int: 0, frac: 0, places: 0, zero: true };

/** Reads `[+-]digits[.digits]` in s[a..b) into `out`; false when it is not such a number. */
export function numberShape(s: string, a: number, b: number, out: NumberShape): boolean {
  let i = s.charCodeAt(a) === 43 || s.charCodeAt(a) === 45 ? a + 1 : a;
  let lead = true, int = 0, frac = 0, zero = true, fracZeros = 0, digits = 0, ch = 0;
  for (; i < b && (ch = s.charCodeAt(i)) >= 48 && ch <= 57; i++, digits++) {
    if (ch !== 48) lead = zero = false;
    if (!lead) int++;
  }
  if (i < b && s.charCodeAt(i) === 46) {
    for (i++; i < b && (ch = s.charCodeAt(i)) >= 48 && ch <= 57; i++, digits++) {
      frac++;
      if (ch === 48) fracZeros++;
      else {
        fracZeros = 0;
        zero = false;
      }
    }
  }
  out.int = int;
  out.frac = frac - fracZeros;
  out.places = frac;
  out.zero = zero;
  return i === b && digits > 0;
}

/** Integer digits and significant decimals a numeric column takes (unconstrained: PostgreSQL's limits). */
export function numericLimits(c: Extract<ColumnSpec, { type: 'numeric' }>): { int: number; frac: number } {
  if (c.precision === undefined) return { int: PG_LIMITS.numericIntDigits, frac: PG_LIMITS.numericPlaces };
  const scale = c.scale ?? 0;
  return { int: c.precision - scale, frac: scale };
}

/** Too many decimals: refused, or with `round` rounded exactly and noted as coercion `round`. */
function numericFn(c: Extract<ColumnSpec, { type: 'numeric' }>, note: NoteCoercion): ColumnFn {
  const co = numberCoercions(c, note, THOUSANDS_DEC);
  const limits = numericLimits(c);
  const declared = c.precision === undefined ? 'the most a numeric holds' : `numeric(${c.precision},${limits.frac})`;
  const noRound = c.precision === undefined ? '' : '; no round option';
  const { min, max, round } = c;
  return (raw) => {
    let v = raw;
    const s = SHAPE;
    if (!numberShape(v, 0, v.length, s)) {
      const t = co.thousands(v);
      if (t === null || !numberShape(t, 0, t.length, s)) return fail('type', `${show(raw)} is not a number`);
      v = t;
    }
    if (s.frac > limits.frac) {
      if (round === undefined) return fail('scale', `${show(raw)} has more than ${limits.frac} decimals (${declared}${noRound})`);
      const r = roundDecimal(v, limits.frac, round);
      note('round', v, r);
      v = r;
      numberShape(v, 0, v.length, s);
    }
    if (s.int > limits.int) return fail('precision', `${show(raw)} has more than ${limits.int} integer digits (${declared})`);
    if (s.places > PG_LIMITS.numericPlaces) {
      return fail('scale', `${show(raw)} has ${s.places} digits after the point; PostgreSQL's numeric takes at most ${PG_LIMITS.numericPlaces}, trailing zeros included`);
    }
    return (min !== undefined || max !== undefined ? rangeCheck(Number(v), min, max, raw) : null) ?? co.zero(v, s.zero);
  };
}

function textFn(c: Extract<ColumnSpec, { type: 'text' | 'pattern' }>, note: NoteCoercion, escape: Escaper): ColumnFn {
  const source = c.type === 'pattern' ? c.regex : c.pattern;
  const re = source === undefined ? null : new RegExp(source);
  const { minLength, maxLength } = c;
  const casing = c.coerce.includes('lowercase') ? 'lowercase' : c.coerce.includes('uppercase') ? 'uppercase' : null;
  return (raw) => {
    let v = raw;
    if (casing) {
      const t = casing === 'lowercase' ? v.toLowerCase() : v.toUpperCase();
      if (t !== v) {
        note(casing, v, t);
        v = t;
      }
    }
    if (maxLength !== undefined && v.length > maxLength && [...v].length > maxLength) {
      return fail('max_length', `${show(raw)} is longer than ${maxLength} characters`);
    }
    if (minLength !== undefined && [...v].length < minLength) return fail('min_length', `${show(raw)} is shorter than ${minLength} characters`);
    if (re !== null && !re.test(v)) return fail('pattern', `${show(raw)} does not match /${source}/`);
    return escape(v);
  };
}

function enumFn(c: Extract<ColumnSpec, { type: 'enum' }>, note: NoteCoercion, escape: Escaper): ColumnFn {
  const allowed = new Map(c.values.map((v) => [v, escape(v)]));
  const listed = c.values.slice(0, 12).join(', ') + (c.values.length > 12 ? ', …' : '');
  const casing = c.coerce.includes('lowercase') ? 'lowercase' : c.coerce.includes('uppercase') ? 'uppercase' : null;
  return (raw) => {
    let out = allowed.get(raw);
    if (out === undefined && casing) {
      const cased = casing === 'lowercase' ? raw.toLowerCase() : raw.toUpperCase();
      out = allowed.get(cased);
      if (out !== undefined) note(casing, raw, cased);
    }
    return out ?? fail('enum', `${show(raw)} is not one of ${listed}`);
  };
}

function dateFn(c: Extract<ColumnSpec, { type: 'date' }>): ColumnFn {
  const layouts = c.formats.map(dateLayout);
  const { min, max } = c;
  return (raw) => {
    let iso: string | null = null;
    for (let i = 0; i < layouts.length && iso === null; i++) iso = layouts[i](raw);
    if (iso === null) return fail('format', `${show(raw)} is not a valid date (${c.formats.join(' or ')})`);
    if (min !== undefined && iso < min) return fail('min', `${show(raw)} is before ${min}`);
    if (max !== undefined && iso > max) return fail('max', `${show(raw)} is after ${max}`);
    return iso;
  };
}

function timestampFn(c: Extract<ColumnSpec, { type: 'timestamp' | 'timestamptz' }>): ColumnFn {
  const tz = c.type === 'timestamptz';
  return (raw) => {
    const m = TIMESTAMP.exec(raw);
    if (!m || !validDate(+m[1], +m[2], +m[3]) || +m[4] > 23 || +m[5] > 59 || (m[6] !== undefined && +m[6] > 59)) {
      return fail('format', `${show(raw)} is not an ISO 8601 timestamp`);
    }
    if (m[7] !== undefined && m[7].length > 6) return fail('precision', `${show(raw)} has more than microsecond precision`);
    if (!tz && m[8] !== undefined) return fail('timezone', `${show(raw)} has a time zone; the column is timestamp without time zone`);
    if (m[9] !== undefined && (+m[9] > PG_LIMITS.offsetHours || (m[10] !== undefined && +m[10] > 59))) {
      return fail('range', `${show(raw)} has a UTC offset out of range (${m[8]}; PostgreSQL takes -15:59 to +15:59)`);
    }
    return tz && m[8] === undefined ? `${raw}+00` : raw; // a zoneless timestamptz is read as UTC
  };
}

function booleanFn(c: Extract<ColumnSpec, { type: 'boolean' }>): ColumnFn {
  const map = new Map<string, string>();
  for (const v of c.trueValues) map.set(v.toLowerCase(), 't');
  for (const v of c.falseValues) map.set(v.toLowerCase(), 'f');
  return (raw) => map.get(raw) ?? map.get(raw.toLowerCase()) ?? fail('type', `${show(raw)} is not a boolean`);
}

const HEX = new Uint8Array(128);
for (const ch of '0123456789abcdefABCDEF') HEX[ch.charCodeAt(0)] = 1;

/** True when s[a..b) is a hyphenated UUID. */
export function isUuid(s: string, a: number, b: number): boolean {
  if (b - a !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(a + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (c > 127 || HEX[c] === 0) return false;
  }
  return true;
}

const uuidFn: ColumnFn = (raw) => (isUuid(raw, 0, raw.length) ? raw : fail('type', `${show(raw)} is not a UUID`));

/** The type check of one column for a non-empty value. */
export function typeFn(c: ColumnSpec, note: NoteCoercion, escape: Escaper): ColumnFn {
  switch (c.type) {
    case 'integer': case 'bigint': return integerFn(c, note);
    case 'numeric': return numericFn(c, note);
    case 'text': case 'pattern': return textFn(c, note, escape);
    case 'enum': return enumFn(c, note, escape);
    case 'date': return dateFn(c);
    case 'timestamp': case 'timestamptz': return timestampFn(c);
    case 'boolean': return booleanFn(c);
    case 'uuid': return uuidFn;
  }
}

/** True when an unquoted empty field of the column loads as NULL (it may then go to COPY as read). */
export function emptyIsNull(c: ColumnSpec): boolean {
  return !c.required && (c.empty === 'copy' || c.empty === 'null');
}

/**
 * The full check of one column: trim coercion, the empty field by the column's `empty` option
 * (NULL, required, refused, or the value '' checked by the type), then the type.
 */
export function columnFn(c: ColumnSpec, note: NoteCoercion, escape: Escaper): ColumnFn {
  const type = typeFn(c, note, escape);
  const trim = c.coerce.includes('trim');
  const nul = c.required ? fail('required', 'value is required') : COPY_NULL;
  const refused = fail('empty', "an empty value is refused (empty: 'reject')");
  // Per empty field, unquoted then quoted: the outcome, or null when '' is checked as a value.
  const unquoted = c.empty === 'reject' ? refused : c.empty === 'empty-string' ? null : nul;
  const quoted = c.empty === 'reject' ? refused : c.empty === 'null' ? nul : null;
  return (raw, wasQuoted = false) => {
    let v = raw;
    if (trim) {
      const t = v.trim();
      if (t !== v) {
        note('trim', v, t);
        v = t;
      }
    }
    if (v !== '') return type(v);
    return (wasQuoted ? quoted : unquoted) ?? type(v);
  };
}
