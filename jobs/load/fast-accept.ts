/**
 * Accept-as-is checks over a range of the raw line, without cutting it into field strings: true
 * only when the column's full check would return the value unchanged, so the raw line can go to
 * COPY as read. False means "not sure": the row then takes the general path, which decides and
 * explains. `compileRawRow` strings them together for one header layout.
 */
import type { ColumnFn, Escaper } from './column-types.ts';
import { digitsAt, INT_RANGE, isUuid, numberShape, numericLimits, PG_LIMITS, validDate, type NumberShape } from './column-types.ts';
import type { ColumnSpec } from './options.ts';

export type RangeCheck = (s: string, a: number, b: number) => boolean;

const SHAPE: NumberShape = { int: 0, frac: 0, places: 0, zero: true };

function bounded(v: number, min: number | undefined, max: number | undefined): boolean {
  return (min === undefined || v >= min) && (max === undefined || v <= max);
}

function integerCheck(c: Extract<ColumnSpec, { type: 'integer' | 'bigint' }>): RangeCheck {
  const [lo, hi] = c.type === 'integer' ? INT_RANGE.integer : [-Infinity, Infinity];
  const maxDigits = c.type === 'integer' ? 10 : 15; // longer bigints: the general path compares exactly
  const negZero = c.coerce.includes('negative_zero');
  const { min, max } = c;
  return (s, a, b) => {
    let i = a;
    const c0 = s.charCodeAt(i);
    if (c0 === 45 || c0 === 43) i++;
    if (b - i <= 0 || b - i > maxDigits) return false;
    let v = 0;
    for (; i < b; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return false;
      v = v * 10 + d;
    }
    if (c0 === 45) {
      if (v === 0 && negZero) return false;
      v = -v;
    }
    return v >= lo && v <= hi && bounded(v, min, max);
  };
}

function numericCheck(c: Extract<ColumnSpec, { type: 'numeric' }>): RangeCheck {
  const limits = numericLimits(c);
  const negZero = c.coerce.includes('negative_zero');
  const { min, max } = c;
  const ranged = min !== undefined || max !== undefined;
  const places = PG_LIMITS.numericPlaces;
  return (s, a, b) => {
    if (!numberShape(s, a, b, SHAPE) || SHAPE.int > limits.int || SHAPE.frac > limits.frac || SHAPE.places > places) return false;
    if (negZero && SHAPE.zero && s.charCodeAt(a) === 45) return false;
    return !ranged || bounded(Number(s.slice(a, b)), min, max);
  };
}

function textCheck(c: Extract<ColumnSpec, { type: 'text' | 'pattern' }>): RangeCheck {
  const source = c.type === 'pattern' ? c.regex : c.pattern;
  const re = source === undefined ? null : new RegExp(source);
  const { minLength, maxLength } = c;
  return (s, a, b) => {
    const len = b - a;
    if (maxLength !== undefined && len > maxLength) return false;
    if (minLength !== undefined && len < 2 * minLength) return false; // surrogate pairs: let the general path count
    if (len === 2 && s.charCodeAt(a) === 92 && s.charCodeAt(a + 1) === 46) return false; // `\.` gets quoted
    return re === null || re.test(s.slice(a, b));
  };
}

function dateCheck(c: Extract<ColumnSpec, { type: 'date' }>): RangeCheck | null {
  if (c.formats[0] !== 'YYYY-MM-DD') return null;
  const { min, max } = c;
  return (s, a, b) => {
    if (b - a !== 10 || s.charCodeAt(a + 4) !== 45 || s.charCodeAt(a + 7) !== 45) return false;
    if (!validDate(digitsAt(s, a, a + 4), digitsAt(s, a + 5, a + 7), digitsAt(s, a + 8, a + 10))) return false;
    if (min === undefined && max === undefined) return true;
    const v = s.slice(a, b);
    return (min === undefined || v >= min) && (max === undefined || v <= max);
  };
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * ISO 8601 `YYYY-MM-DD[T ]HH:MM[:SS[.f…]][Z|±HH[[:]MM]]` read in place, as the timestamp column fn
 * reads it (offsets within PostgreSQL's ±15:59): accepted as is when a zone is there exactly for
 * timestamptz (a zoneless timestamptz value gets `+00` appended, a zoned plain timestamp is refused).
 */
function timestampCheck(zoned: boolean): RangeCheck {
  return (s, a, b) => {
    if (b - a < 16 || s.charCodeAt(a + 4) !== 45 || s.charCodeAt(a + 7) !== 45 || s.charCodeAt(a + 13) !== 58) return false;
    const t = s.charCodeAt(a + 10);
    if (t !== 84 && t !== 32) return false;
    if (!validDate(digitsAt(s, a, a + 4), digitsAt(s, a + 5, a + 7), digitsAt(s, a + 8, a + 10))) return false;
    const hour = digitsAt(s, a + 11, a + 13);
    const minute = digitsAt(s, a + 14, a + 16);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return false;
    let i = a + 16;
    if (i < b && s.charCodeAt(i) === 58) {
      const second = digitsAt(s, i + 1, i + 3);
      if (i + 3 > b || second < 0 || second > 59) return false;
      i += 3;
      if (i < b && s.charCodeAt(i) === 46) {
        let j = i + 1;
        while (j < b && isDigit(s.charCodeAt(j))) j++;
        if (j === i + 1 || j - i - 1 > 6) return false;
        i = j;
      }
    }
    if (i === b) return !zoned;
    const z = s.charCodeAt(i);
    if (!zoned) return false;
    if (z === 90) return i + 1 === b;
    const hours = b - i < 3 ? -1 : digitsAt(s, i + 1, i + 3);
    if ((z !== 43 && z !== 45) || hours < 0 || hours > PG_LIMITS.offsetHours) return false;
    const rest = b - (i + 3);
    if (rest === 0) return true;
    const minutes = rest === 2 ? digitsAt(s, i + 3, b) : rest === 3 && s.charCodeAt(i + 3) === 58 ? digitsAt(s, i + 4, b) : -1;
    return minutes >= 0 && minutes <= 59;
  };
}

/** The accept-as-is check of one column for a non-empty value. */
export function rangeCheck(c: ColumnSpec, fn: ColumnFn, escape: Escaper): RangeCheck {
  const generic: RangeCheck = (s, a, b) => {
    const v = s.slice(a, b);
    return fn(v) === v;
  };
  const textual = c.type === 'text' || c.type === 'pattern' || c.type === 'enum';
  if (textual && c.coerce.length > 0) return generic;
  switch (c.type) {
    case 'integer': case 'bigint': return integerCheck(c);
    case 'numeric': return numericCheck(c);
    case 'text': case 'pattern': return textCheck(c);
    case 'enum': {
      const same = new Set(c.values.filter((v) => escape(v) === v));
      return (s, a, b) => same.has(s.slice(a, b));
    }
    case 'date': return dateCheck(c) ?? generic;
    case 'uuid': return (s, a, b) => isUuid(s, a, b);
    case 'timestamp': case 'timestamptz': return timestampCheck(c.type === 'timestamptz');
    default: return generic;
  }
}

/**
 * For a file whose fields are the declared columns in order: true when the raw line splits into
 * exactly that many fields by the delimiter and every field is accepted as is (an empty field of
 * the raw line is unquoted: NULL, fine unless `required[i]` — the column refuses NULL or reads an
 * unquoted empty otherwise, see `emptyIsNull`). With `ends`, field i of an accepted line is
 * `s.slice(i === 0 ? 0 : ends[i - 1] + 1, ends[i])`. The generated source holds only indices,
 * never names or data.
 */
export function compileRawRow(checks: RangeCheck[], required: boolean[], delimiter: string, ends?: Int32Array): (s: string) => boolean {
  const n = checks.length;
  const body: string[] = ['let a = 0, b = 0;'];
  for (let i = 0; i < n; i++) {
    body.push(i < n - 1 ? 'b = s.indexOf(d, a); if (b === -1) return false;' : 'if (s.indexOf(d, a) !== -1) return false; b = s.length;');
    body.push(`if (a === b) { ${required[i] ? 'return false;' : ''} } else if (!c[${i}](s, a, b)) return false;`);
    if (ends) body.push(`e[${i}] = b;`);
    if (i < n - 1) body.push('a = b + 1;');
  }
  body.push('return true;');
  return new Function('c', 'd', 'e', `return function rawRow(s) {\n${body.join('\n')}\n};`)(checks, delimiter, ends);
}
