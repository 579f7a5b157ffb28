/**
 * Small formatting helpers shared by the generators: UTC dates, money from integer units, and
 * the exact half-up percentage the reports print. No floats are summed anywhere.
 */

export const DAY_MS = 86_400_000;

/** 'YYYY-MM-DD' → ms since epoch at 00:00 UTC; throws RangeError on anything else. */
export function parseDay(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || new Date(ms).toISOString().slice(0, 10) !== day) throw new RangeError(`not a date (YYYY-MM-DD): ${day}`);
  return ms;
}

/** ms → 'YYYY-MM-DD' (UTC). */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** ms → 'YYYYMMDD' (UTC), the date part of file names. */
export function compactDay(ms: number): string {
  return isoDay(ms).replaceAll('-', '');
}

/** ms + extra microseconds → 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC). */
export function microTimestamp(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros % 1000).padStart(3, '0')}`;
}

/** Integer units of 10^-decimals → fixed string, e.g. (-125, 2) → '-1.25'. */
export function fixed(units: number, decimals: number): string {
  const scale = 10 ** decimals;
  const sign = units < 0 ? '-' : '';
  const abs = Math.abs(units);
  const whole = Math.floor(abs / scale);
  if (decimals === 0) return `${sign}${whole}`;
  return `${sign}${whole}.${String(abs % scale).padStart(decimals, '0')}`;
}

/** Like `fixed` with thousands separators: 125000, 2 → '1,250.00'. */
export function withThousands(units: number, decimals: number): string {
  const [whole, frac] = fixed(units, decimals).split('.');
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac}`;
}

/** part / whole * 100 rounded half-up to 2 decimals, as a string ('0.00' when whole is 0). */
export function percent2(part: number, whole: number): string {
  if (whole === 0) return '0.00';
  const n = part * 10_000;
  let q = Math.floor(n / whole);
  if (2 * (n - q * whole) >= whole) q++;
  return fixed(q, 2);
}

/** part / whole rounded half-up to 4 decimals, as a string ('0.0000' when whole is 0). */
export function ratio4(part: number, whole: number): string {
  if (whole === 0) return '0.0000';
  const n = part * 10_000;
  let q = Math.floor(n / whole);
  if (2 * (n - q * whole) >= whole) q++;
  return fixed(q, 4);
}
