/**
 * The reject limit of one file: (rejectLimit, the file's refused rows and the lines they span) →
 * fail (REJECT_LIMIT_EXCEEDED, nothing committed) or warning lines for the task's result. A refused
 * record counts every line it spans. Checked as each record is refused (a record spanning more than
 * `maxLinesPerRecord` lines, or the fail count passed) and at the end of the file (the ratios).
 */
import { TributaryError } from '../../engine/errors.ts';
import { breaches, type Threshold } from '../sql/outcome.ts';
import type { LoadOptions } from './options.ts';

type RejectLimit = LoadOptions['rejectLimit'];

/** How many rows of a file were read and refused, and how many lines they span. */
export type RefusedCounts = {
  path: string;
  rows_read: number;
  rows_rejected: number;
  /** Physical lines of the data records read (the header and blank lines are not counted). */
  lines_read: number;
  /** Lines spanned by refused records: a record refused across 4,998 lines counts 4,998. */
  lines_rejected: number;
  /** Refused records spanning more than one line: how many, their lines in all, the first 10 ranges. */
  multiline_rejects: { count: number; lines: number; ranges: Array<[number, number]> };
};

/** Ranges kept in `multiline_rejects` (its count and lines count them all). */
export const MULTILINE_RANGES = 10;

/** What a level allows, for messages: `count 3`, `ratio 0.01`, `count 3 or ratio 0.01`, `0 rows`. */
function describe(level: Threshold): string {
  const parts = [level.count === undefined ? null : `count ${level.count}`, level.ratio === undefined ? null : `ratio ${level.ratio}`];
  return parts.filter((p) => p !== null).join(' or ') || 'count 0';
}

const share = (refused: number, read: number) => (read === 0 ? '' : ` (${((100 * refused) / read).toFixed(2)}%)`);
const range = (first: number, last: number) => (last > first ? `${first}–${last}` : `${first}`);

/** Refused lines pass the count, or refused rows or refused lines pass the ratio. */
function breached(level: Threshold, r: RefusedCounts): boolean {
  return breaches(level, r.lines_rejected, r.lines_read) || breaches(level, r.rows_rejected, r.rows_read);
}

/** `3 of 1000 rows refused (0.30%)`, and the lines when refused records span more than one each. */
function counted(r: RefusedCounts): string {
  const rows = `${r.rows_rejected} of ${r.rows_read} rows refused${share(r.rows_rejected, r.rows_read)}`;
  return r.lines_rejected === r.rows_rejected ? rows : `${rows}, ${r.lines_rejected} of ${r.lines_read} lines${share(r.lines_rejected, r.lines_read)}`;
}

/**
 * As a record is refused: throws when it spans more than `maxLinesPerRecord` lines, or when the
 * lines refused so far pass the fail count (the ratios wait for the end of the file).
 */
export function checkRefused(limit: RejectLimit, path: string, refused: { rows: number; lines: number }, first: number, last: number, reason: string): void {
  const span = last - first + 1;
  if (span > limit.maxLinesPerRecord) {
    throw new TributaryError('REJECT_LIMIT_EXCEEDED',
      `${path}: a refused record spans lines ${range(first, last)} (${span} lines, more than rejectLimit.maxLinesPerRecord ${limit.maxLinesPerRecord}): ${reason}; those lines may hold valid rows, so nothing is loaded — fix the quoting there, or raise rejectLimit.maxLinesPerRecord to load the rest and refuse those lines`);
  }
  const count = limit.fail === undefined ? undefined : (limit.fail.count ?? (limit.fail.ratio === undefined ? 0 : undefined));
  if (count !== undefined && refused.lines > count) {
    const at = span > 1 ? `lines ${range(first, last)}` : `line ${first}`;
    const what = refused.lines === refused.rows ? 'rows refused' : `lines refused (${refused.rows} row${refused.rows === 1 ? '' : 's'} spanning ${refused.lines} lines)`;
    throw new TributaryError('REJECT_LIMIT_EXCEEDED', `${path}: more than ${count} ${what} (${at}: ${reason})`);
  }
}

/** At the end of a file: throws when its refused rows or lines pass the fail level. */
export function checkRejectLimit(limit: RejectLimit, r: RefusedCounts): void {
  if (limit.fail !== undefined && breached(limit.fail, r)) {
    throw new TributaryError('REJECT_LIMIT_EXCEEDED', `${r.path}: ${counted(r)}, above the fail limit ${describe(limit.fail)}`);
  }
}

/**
 * The warnings of a loaded file: its refused rows past the warn level, and its refused records that
 * span several lines (always said: such a record may have swallowed valid rows).
 */
export function rejectWarnings(limit: RejectLimit, r: RefusedCounts): string[] {
  const out: string[] = [];
  if (limit.warn !== undefined && breached(limit.warn, r)) out.push(`${r.path}: ${counted(r)}, above the warn limit ${describe(limit.warn)}`);
  const m = r.multiline_rejects;
  if (m.count > 0) {
    const ranges = m.ranges.map(([first, last]) => range(first, last)).join(', ') + (m.count > m.ranges.length ? ', …' : '');
    const what = m.count === 1 ? `a refused record spans ${m.lines} lines (lines ${ranges})` : `${m.count} refused records span ${m.lines} lines (lines ${ranges})`;
    out.push(`${r.path}: ${what}; no row on them loaded — if a quote swallowed rows there, fix it and load the file again`);
  }
  return out;
}
