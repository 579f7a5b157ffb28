/** Cron arithmetic: DST days in London and New York, catch-up counts, day helpers (pure, no services). */
import { describe, expect, it } from 'vitest';
import {
  cronError,
  dataInterval,
  daysBetween,
  dueLogicalDates,
  formatDay,
  intervalFor,
  logicalDateFor,
  logicalDateForDay,
  manualInterval,
  nextTick,
  previousTick,
  startOfDay,
  timezoneError,
} from '../../../engine/schedule.ts';
import { TributaryError } from '../../../engine/errors.ts';

const d = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((x) => x.toISOString());
const HOUR = 3_600_000;
const hours = (i: { start: Date; end: Date }) => (i.end.getTime() - i.start.getTime()) / HOUR;

function expectArgumentInvalid(fn: () => unknown, fragment: string) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('ARGUMENT_INVALID');
    expect((err as TributaryError).message).toContain(fragment);
    return;
  }
  expect.fail('expected ARGUMENT_INVALID');
}

describe('nextTick / previousTick', () => {
  it('nextTick is strictly after; previousTick includes an exact tick', () => {
    expect(nextTick('0 6 * * *', 'UTC', d('2025-05-13T06:00:00Z'))).toEqual(d('2025-05-14T06:00:00Z'));
    expect(nextTick('0 6 * * *', 'UTC', d('2025-05-13T05:59:59.999Z'))).toEqual(d('2025-05-13T06:00:00Z'));
    expect(previousTick('0 6 * * *', 'UTC', d('2025-05-13T06:00:00Z'))).toEqual(d('2025-05-13T06:00:00Z'));
    expect(previousTick('0 6 * * *', 'UTC', d('2025-05-13T05:59:59.999Z'))).toEqual(d('2025-05-12T06:00:00Z'));
  });
});

describe('Europe/London daily 0 6 * * * across DST', () => {
  const cron = '0 6 * * *';
  const tz = 'Europe/London';

  it('spring forward (2025-03-30): 06:00 GMT then 06:00 BST; the interval before the change is 23h', () => {
    expect(logicalDateForDay(cron, tz, '2025-03-29')).toEqual(d('2025-03-29T06:00:00Z'));
    expect(logicalDateForDay(cron, tz, '2025-03-30')).toEqual(d('2025-03-30T05:00:00Z'));
    const interval = dataInterval(cron, tz, d('2025-03-29T06:00:00Z'));
    expect(interval.end).toEqual(d('2025-03-30T05:00:00Z'));
    expect(hours(interval)).toBe(23);
    expect(hours(dataInterval(cron, tz, d('2025-03-30T05:00:00Z')))).toBe(24);
  });

  it('fall back (2025-10-26): 06:00 BST then 06:00 GMT; the interval before the change is 25h', () => {
    expect(logicalDateForDay(cron, tz, '2025-10-25')).toEqual(d('2025-10-25T05:00:00Z'));
    expect(logicalDateForDay(cron, tz, '2025-10-26')).toEqual(d('2025-10-26T06:00:00Z'));
    const interval = dataInterval(cron, tz, d('2025-10-25T05:00:00Z'));
    expect(interval.end).toEqual(d('2025-10-26T06:00:00Z'));
    expect(hours(interval)).toBe(25);
  });

  it('catch-up over both changes gives one tick per local day at 06:00', () => {
    const due = dueLogicalDates(
      { cron, timezone: tz, catchup: true },
      d('2025-03-28T06:00:00Z'),
      d('2025-03-31T12:00:00Z'),
    );
    expect(iso(due)).toEqual(['2025-03-29T06:00:00.000Z', '2025-03-30T05:00:00.000Z', '2025-03-31T05:00:00.000Z']);
  });

  it('hourly cron runs every UTC hour through the fall-back day (25 local hours)', () => {
    const due = dueLogicalDates(
      { cron: '0 * * * *', timezone: tz, catchup: true },
      d('2025-10-25T23:00:00Z'),
      d('2025-10-26T23:00:00Z'),
    );
    expect(due).toHaveLength(24);
    expect(due.every((t, i) => t.getTime() === d('2025-10-26T00:00:00Z').getTime() + i * HOUR)).toBe(true);
  });
});

describe('America/New_York on the spring-forward day 2025-03-09 (02:00 EST → 03:00 EDT)', () => {
  const tz = 'America/New_York';

  it('30 1 * * *: 01:30 exists (EST, 06:30Z); the next day is 01:30 EDT (05:30Z), a 23h interval', () => {
    const t = logicalDateForDay('30 1 * * *', tz, '2025-03-09');
    expect(t).toEqual(d('2025-03-09T06:30:00Z'));
    expect(dataInterval('30 1 * * *', tz, t)).toEqual({ start: t, end: d('2025-03-10T05:30:00Z') });
  });

  // 02:30 does not exist that day. cron-parser's next() fires at the wall-clock time shifted by the
  // gap — 03:30 EDT (07:30Z) — so the day is not skipped. (Its prev() skips the day; previousTick
  // walks forward so both directions agree on 07:30Z.)
  it('30 2 * * *: the missing 02:30 fires at 03:30 EDT (07:30Z), in both directions', () => {
    expect(logicalDateForDay('30 2 * * *', tz, '2025-03-09')).toEqual(d('2025-03-09T07:30:00Z'));
    expect(nextTick('30 2 * * *', tz, d('2025-03-08T12:00:00Z'))).toEqual(d('2025-03-09T07:30:00Z'));
    expect(previousTick('30 2 * * *', tz, d('2025-03-09T12:00:00Z'))).toEqual(d('2025-03-09T07:30:00Z'));
    const interval = dataInterval('30 2 * * *', tz, d('2025-03-09T07:30:00Z'));
    expect(interval.end).toEqual(d('2025-03-10T06:30:00Z'));
    expect(hours(interval)).toBe(23);
    const due = dueLogicalDates(
      { cron: '30 2 * * *', timezone: tz, catchup: true },
      d('2025-03-08T07:30:00Z'),
      d('2025-03-10T12:00:00Z'),
    );
    expect(iso(due)).toEqual(['2025-03-09T07:30:00.000Z', '2025-03-10T06:30:00.000Z']);
  });
});

describe('dueLogicalDates', () => {
  const hourly = { cron: '0 * * * *', timezone: 'UTC' };
  const last = d('2025-05-10T00:00:00Z');
  const now = d('2025-05-13T00:30:00Z');

  it('catch-up after 3 days down with an hourly cron: exactly 72 runs, oldest first', () => {
    const due = dueLogicalDates({ ...hourly, catchup: true }, last, now);
    expect(due).toHaveLength(72);
    expect(due[0]).toEqual(d('2025-05-10T01:00:00Z'));
    expect(due[71]).toEqual(d('2025-05-13T00:00:00Z'));
    expect(due.every((t, i) => i === 0 || t.getTime() - due[i - 1].getTime() === HOUR)).toBe(true);
  });

  it('catchup false: only the latest tick', () => {
    expect(iso(dueLogicalDates({ ...hourly, catchup: false }, last, now))).toEqual(['2025-05-13T00:00:00.000Z']);
  });

  it('nothing due when the latest tick already ran', () => {
    const ran = d('2025-05-13T00:00:00Z');
    expect(dueLogicalDates({ ...hourly, catchup: true }, ran, now)).toEqual([]);
    expect(dueLogicalDates({ ...hourly, catchup: false }, ran, now)).toEqual([]);
  });

  it('a tick exactly at now is due', () => {
    expect(iso(dueLogicalDates({ ...hourly, catchup: true }, d('2025-05-12T23:00:00Z'), d('2025-05-13T00:00:00Z')))).toEqual([
      '2025-05-13T00:00:00.000Z',
    ]);
  });

  it('a brand-new DAG without startDate does not back-fill history', () => {
    expect(iso(dueLogicalDates({ ...hourly, catchup: true }, null, now))).toEqual(['2025-05-13T00:00:00.000Z']);
  });

  it('startDate bounds catch-up, with or without a last run before it', () => {
    const startDate = d('2025-05-12T00:00:00Z');
    const fromNull = dueLogicalDates({ ...hourly, catchup: true, startDate }, null, now);
    expect(fromNull).toHaveLength(25);
    expect(fromNull[0]).toEqual(startDate);
    expect(dueLogicalDates({ ...hourly, catchup: true, startDate }, last, now)).toEqual(fromNull);
    // a startDate between ticks rounds up to the next tick
    const mid = dueLogicalDates({ ...hourly, catchup: true, startDate: d('2025-05-12T22:15:00Z') }, null, now);
    expect(iso(mid)).toEqual(['2025-05-12T23:00:00.000Z', '2025-05-13T00:00:00.000Z']);
  });

  it('startDate in the future: nothing, with or without catch-up', () => {
    const startDate = d('2025-06-01T00:00:00Z');
    expect(dueLogicalDates({ ...hourly, catchup: true, startDate }, null, now)).toEqual([]);
    expect(dueLogicalDates({ ...hourly, catchup: false, startDate }, null, now)).toEqual([]);
  });

  it('limit keeps the oldest ticks', () => {
    const due = dueLogicalDates({ ...hourly, catchup: true }, last, now, 5);
    expect(iso(due)).toEqual(iso(dueLogicalDates({ ...hourly, catchup: true }, last, now).slice(0, 5)));
  });
});

describe('day helpers', () => {
  it('formatDay reads the calendar day in the timezone', () => {
    expect(formatDay(d('2025-05-12T23:30:00Z'), 'Europe/London')).toBe('2025-05-13');
    expect(formatDay(d('2025-05-12T23:30:00Z'), 'UTC')).toBe('2025-05-12');
    expect(formatDay(d('2025-05-13T03:00:00Z'), 'America/New_York')).toBe('2025-05-12');
  });

  it('logicalDateForDay: a day without a tick gives midnight in the timezone', () => {
    // 2025-05-13 is a Tuesday; the cron fires on Mondays only
    expect(logicalDateForDay('0 6 * * 1', 'Europe/London', '2025-05-13')).toEqual(d('2025-05-12T23:00:00Z'));
    expect(logicalDateForDay('0 6 * * 1', 'Europe/London', '2025-05-12')).toEqual(d('2025-05-12T05:00:00Z'));
    expect(logicalDateForDay('0 0 * * *', 'UTC', '2025-05-13')).toEqual(d('2025-05-13T00:00:00Z'));
  });

  it('startOfDay: a midnight swallowed by DST starts the day at the end of the gap', () => {
    // America/Santiago springs forward at 24:00 on 2024-09-07: the 8th begins at 01:00 -03 (04:00Z)
    expect(startOfDay('2024-09-08', 'America/Santiago')).toEqual(d('2024-09-08T04:00:00Z'));
    expect(startOfDay('2025-05-13', 'Asia/Tokyo')).toEqual(d('2025-05-12T15:00:00Z'));
  });

  it('logicalDateForDay rejects malformed or impossible dates', () => {
    expectArgumentInvalid(() => logicalDateForDay('0 6 * * *', 'UTC', '2025-02-30'), '2025-02-30');
    expectArgumentInvalid(() => logicalDateForDay('0 6 * * *', 'UTC', '2025-5-1'), '2025-5-1');
    expectArgumentInvalid(() => logicalDateForDay('0 6 * * *', 'UTC', 'yesterday'), 'yesterday');
  });

  it('daysBetween is inclusive and crosses months and leap days', () => {
    expect(daysBetween('2025-05-01', '2025-05-03')).toEqual(['2025-05-01', '2025-05-02', '2025-05-03']);
    expect(daysBetween('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(daysBetween('2025-05-01', '2025-05-01')).toEqual(['2025-05-01']);
    expect(daysBetween('2020-01-01', '2030-01-07')).toHaveLength(3660);
  });

  it('daysBetween errors', () => {
    expectArgumentInvalid(() => daysBetween('2025-05-03', '2025-05-01'), 'start is after end');
    expectArgumentInvalid(() => daysBetween('2020-01-01', '2030-01-08'), 'at most 3660');
    expectArgumentInvalid(() => daysBetween('2025-13-01', '2025-12-31'), '2025-13-01');
    expectArgumentInvalid(() => daysBetween('2025-01-01', '2025-02-29'), '2025-02-29');
  });

  it('manual DAGs: midnight UTC and a one-day interval', () => {
    expect(manualInterval('2025-05-13')).toEqual({
      logicalDate: d('2025-05-13T00:00:00Z'),
      start: d('2025-05-13T00:00:00Z'),
      end: d('2025-05-14T00:00:00Z'),
    });
    expect(logicalDateFor(undefined, '2025-05-13')).toEqual(d('2025-05-13T00:00:00Z'));
    expect(intervalFor(undefined, d('2025-05-13T00:00:00Z')).end).toEqual(d('2025-05-14T00:00:00Z'));
    const london = { cron: '0 6 * * *', timezone: 'Europe/London' };
    expect(logicalDateFor(london, '2025-03-29')).toEqual(d('2025-03-29T06:00:00Z'));
    expect(intervalFor(london, d('2025-03-29T06:00:00Z')).end).toEqual(d('2025-03-30T05:00:00Z'));
  });
});

describe('validation helpers', () => {
  it('cronError accepts five fields only', () => {
    expect(cronError('0 6 * * *')).toBeNull();
    expect(cronError('*/15 9-17 * * 1-5')).toBeNull();
    expect(cronError('0 0 6 * * *')).toContain('exactly 5 fields');
    expect(cronError('* * * *')).toContain('exactly 5 fields');
    expect(cronError('@daily')).toContain('exactly 5 fields');
    expect(cronError('')).toContain('exactly 5 fields');
    expect(cronError('61 * * * *')).toContain('invalid');
    expect(cronError('0 6 31 2 *')).toContain('invalid');
  });

  it('timezoneError rejects non-IANA names', () => {
    expect(timezoneError('Europe/London')).toBeNull();
    expect(timezoneError('UTC')).toBeNull();
    expect(timezoneError('Mars/Phobos')).toContain('Mars/Phobos');
    expect(timezoneError('+01:00')).toContain('+01:00');
  });
});
