/**
 * Cron arithmetic (cron-parser v5, never sleeping). A run fires at tick T; its logical date is T and
 * its data interval is [T, next tick). Dates are UTC instants; the cron is evaluated in the DAG's
 * IANA timezone, DST-correct. Days are 'YYYY-MM-DD' strings in that timezone.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { parseDay } from './day.ts';
import { TributaryError } from './errors.ts';

export { parseDay }; // defined in engine/day.ts, where `trib` checks a --date without loading the cron parser

const DAY_MS = 86_400_000;
const MAX_RANGE_DAYS = 3660;

export interface Interval {
  start: Date;
  end: Date;
}

function expression(cron: string, tz: string, currentDate: Date): CronExpression {
  return CronExpressionParser.parse(cron, { tz, currentDate });
}

/** Why `cron` is not a usable five-field expression, or null when it is. */
export function cronError(cron: string): string | null {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    return `cron "${cron}" must have exactly 5 fields (minute hour day-of-month month day-of-week), got ${fields[0] === '' ? 0 : fields.length}`;
  }
  try {
    expression(cron, 'UTC', new Date(0)).next();
    return null;
  } catch (err) {
    return `cron "${cron}" is invalid: ${(err as Error).message}`;
  }
}

/** Why `tz` is not a usable IANA timezone, or null when it is. */
export function timezoneError(tz: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    expression('0 0 * * *', tz, new Date(0)).next();
    return null;
  } catch {
    return `timezone "${tz}" is not a valid IANA timezone`;
  }
}

/** The first tick strictly after `after`. */
export function nextTick(cron: string, tz: string, after: Date): Date {
  return expression(cron, tz, after).next().toDate();
}

/**
 * The latest tick ≤ `atOrBefore`. Walks forward from cron-parser's `prev()` so the answer always
 * agrees with `nextTick` (in a DST gap the two directions of cron-parser disagree).
 */
export function previousTick(cron: string, tz: string, atOrBefore: Date): Date | null {
  const limit = atOrBefore.getTime();
  let candidate = expression(cron, tz, new Date(limit + 1)).prev().toDate();
  const forward = expression(cron, tz, candidate);
  for (let next = forward.next().toDate(); next.getTime() <= limit; next = forward.next().toDate()) {
    candidate = next;
  }
  return candidate;
}

export function dataInterval(cron: string, tz: string, logicalDate: Date): Interval {
  return { start: logicalDate, end: nextTick(cron, tz, logicalDate) };
}

export interface DueOptions {
  cron: string;
  timezone: string;
  catchup: boolean;
  startDate?: Date;
}

/**
 * The ticks T with lastLogicalDate < T ≤ now (and T ≥ startDate), oldest first, at most `limit`
 * (the oldest ones; the rest come on the next call). Without catch-up — or for a brand-new DAG
 * with no startDate — only the latest such tick.
 */
export function dueLogicalDates(opts: DueOptions, lastLogicalDate: Date | null, now: Date, limit = 1000): Date[] {
  const { cron, timezone, catchup, startDate } = opts;
  const after = (t: Date) =>
    (lastLogicalDate === null || t > lastLogicalDate) && (startDate === undefined || t >= startDate);
  if (!catchup || (lastLogicalDate === null && startDate === undefined)) {
    const latest = previousTick(cron, timezone, now);
    return latest !== null && after(latest) ? [latest] : [];
  }
  const bounds = [lastLogicalDate?.getTime(), startDate && startDate.getTime() - 1].filter(
    (t): t is number => t !== undefined,
  );
  const iterator = expression(cron, timezone, new Date(Math.max(...bounds)));
  const due: Date[] = [];
  for (let t = iterator.next().toDate(); t <= now && due.length < limit; t = iterator.next().toDate()) {
    due.push(t);
  }
  return due;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** 'YYYY-MM-DD' of `date` as seen in `tz`. */
export function formatDay(date: Date, tz: string): string {
  let format = dayFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(tz, format);
  }
  const parts = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** The first instant of `day` in `tz` (local midnight, or the end of a DST gap that swallowed it). */
export function startOfDay(day: string, tz: string): Date {
  const utcMidnight = parseDay(day);
  // Offsets lie within −12h…+14h: local time at lo is the day before, at hi it is `day` already.
  let lo = utcMidnight - 15 * 3_600_000;
  let hi = utcMidnight + 13 * 3_600_000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (formatDay(new Date(mid), tz) >= day) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/** The first tick on `day` in `tz`; midnight of that day in `tz` when the cron has no tick that day. */
export function logicalDateForDay(cron: string, tz: string, day: string): Date {
  const midnight = startOfDay(day, tz);
  const tick = nextTick(cron, tz, new Date(midnight.getTime() - 1));
  return formatDay(tick, tz) === day ? tick : midnight;
}

/** Every day from `from` to `to` inclusive (at most 3660). */
export function daysBetween(from: string, to: string): string[] {
  const start = parseDay(from);
  const end = parseDay(to);
  if (start > end) throw new TributaryError('ARGUMENT_INVALID', `date range ${from}..${to}: start is after end`);
  const count = (end - start) / DAY_MS + 1;
  if (count > MAX_RANGE_DAYS) {
    throw new TributaryError('ARGUMENT_INVALID', `date range ${from}..${to} spans ${count} days; at most ${MAX_RANGE_DAYS}`);
  }
  return Array.from({ length: count }, (_, i) => new Date(start + i * DAY_MS).toISOString().slice(0, 10));
}

export interface Ticks {
  /** Oldest first, at most the limit asked for. */
  dates: Date[];
  /** True when more ticks than the limit fall in the range. */
  truncated: boolean;
}

/**
 * The logical dates of [from, to] (days inclusive, in the DAG's timezone): every cron tick in the
 * range — the ticks the scheduler's catch-up would create — or one per day at midnight UTC for a
 * DAG without schedule. At most `limit` of them.
 */
export function ticksBetween(schedule: MaybeSchedule, from: string, to: string, limit: number): Ticks {
  const days = daysBetween(from, to);
  if (!schedule) {
    const dates = days.slice(0, limit).map((day) => manualInterval(day).logicalDate);
    return { dates, truncated: days.length > limit };
  }
  const { cron, timezone } = schedule;
  const end = startOfDay(new Date(parseDay(to) + DAY_MS).toISOString().slice(0, 10), timezone);
  const iterator = expression(cron, timezone, new Date(startOfDay(from, timezone).getTime() - 1));
  const dates: Date[] = [];
  for (let t = iterator.next().toDate(); t < end; t = iterator.next().toDate()) {
    if (dates.length === limit) return { dates, truncated: true };
    dates.push(t);
  }
  return { dates, truncated: false };
}

/** A DAG without schedule: logical date = midnight UTC of `day`, interval one day. */
export function manualInterval(day: string): Interval & { logicalDate: Date } {
  const start = parseDay(day);
  return { logicalDate: new Date(start), start: new Date(start), end: new Date(start + DAY_MS) };
}

type MaybeSchedule = { cron: string; timezone: string } | undefined;

/** Logical date for `day` for any DAG: first tick that day, or midnight UTC when unscheduled. */
export function logicalDateFor(schedule: MaybeSchedule, day: string): Date {
  return schedule ? logicalDateForDay(schedule.cron, schedule.timezone, day) : manualInterval(day).logicalDate;
}

/** Data interval of a run for any DAG: [T, next tick), or one UTC day when unscheduled. */
export function intervalFor(schedule: MaybeSchedule, logicalDate: Date): Interval {
  return schedule
    ? dataInterval(schedule.cron, schedule.timezone, logicalDate)
    : { start: logicalDate, end: new Date(logicalDate.getTime() + DAY_MS) };
}
