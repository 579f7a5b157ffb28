/**
 * Decimal-exact rounding on a number's text, never through a float: `[+-]digits[.digits]` in,
 * COPY-valid text with exactly `scale` decimals out. A value that rounds to zero has no sign
 * (`-0.00004` → `0.0000`: PostgreSQL's numeric has no negative zero either).
 */

/** `half-even`: ties go to the even last digit. `half-up`: ties go away from zero, as PostgreSQL's `round(numeric)`. */
export type RoundingMode = 'half-even' | 'half-up';

/** The digit string plus one (`'0999'` → `'1000'`, `'99'` → `'100'`). */
function increment(digits: string): string {
  let i = digits.length - 1;
  while (i >= 0 && digits.charCodeAt(i) === 57) i--;
  const carried = '0'.repeat(digits.length - 1 - i);
  return i < 0 ? `1${carried}` : `${digits.slice(0, i)}${String.fromCharCode(digits.charCodeAt(i) + 1)}${carried}`;
}

/** `v`, a valid `[+-]digits[.digits]` (no separators), rounded to `scale` decimals by `mode`. */
export function roundDecimal(v: string, scale: number, mode: RoundingMode): string {
  const sign = v.charCodeAt(0);
  const body = sign === 45 || sign === 43 ? v.slice(1) : v;
  const dot = body.indexOf('.');
  const int = (dot < 0 ? body : body.slice(0, dot)) || '0';
  const frac = dot < 0 ? '' : body.slice(dot + 1);
  const kept = int + frac.slice(0, scale).padEnd(scale, '0');
  const next = frac.length > scale ? frac.charCodeAt(scale) - 48 : 0;
  const beyond = frac.length > scale + 1 && /[1-9]/.test(frac.slice(scale + 1));
  const odd = (kept.charCodeAt(kept.length - 1) - 48) % 2 === 1;
  const up = next > 5 || (next === 5 && (beyond || mode === 'half-up' || odd));
  const digits = up ? increment(kept) : kept;
  const whole = digits.slice(0, digits.length - scale).replace(/^0+(?=\d)/, '');
  const out = scale === 0 ? whole : `${whole}.${digits.slice(digits.length - scale)}`;
  return sign === 45 && /[1-9]/.test(digits) ? `-${out}` : out;
}
