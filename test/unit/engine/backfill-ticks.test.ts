/**
 * Backfill dates = the cron's ticks on the days from..to in the DAG's timezone: hourly → 24 a day
 * (23/25 on DST days), Monday-only → one a week, no off-schedule midnights. Checked against a
 * brute-force reference that walks UTC in 15-minute steps and reads the local clock with Intl
 * (zones with 30-minute DST shifts, e.g. Lord Howe, are left out: cron-parser loops on them).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBackfill } from '../../../engine/operations.ts';
import { ticksBetween } from '../../../engine/schedule.ts';
import { TributaryError } from '../../../engine/errors.ts';
import type { CompiledDag } from '../../../engine/types.ts';

const iso = (dates: Date[]) => dates.map((x) => x.toISOString());
const HOURLY = '0 * * * *';
const MONDAY_6 = '0 6 * * 1';

const formats = new Map<string, Intl.DateTimeFormat>();
/** Local wall clock of instant `t` in `tz`, as ms of that wall time read as UTC (Intl only). */
function wallMs(t: number, tz: string): number {
  const f = formats.get(tz) ?? new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
  formats.set(tz, f);
  const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute));
}

interface Wall { hour: number; minute: number; weekday: number }
const wallOf = (w: number): Wall => {
  const d = new Date(w);
  return { hour: d.getUTCHours(), minute: d.getUTCMinutes(), weekday: d.getUTCDay() };
};
const STEP = 15 * 60_000; // every real UTC offset and DST shift is a multiple of 15 minutes

/**
 * Every instant whose local clock matches, walking UTC in 15-minute steps; a matching wall time
 * skipped by a DST gap fires shifted by the gap (03:30 for a 02:30 that never happens), the
 * convention of the scheduler's catch-up.
 */
function reference(tz: string, from: string, to: string, match: (w: Wall) => boolean): string[] {
  const found = new Set<number>();
  const end = Date.parse(`${to}T00:00:00Z`) + 2 * 86_400_000;
  const start = Date.parse(`${from}T00:00:00Z`) - 2 * 86_400_000;
  let prev = wallMs(start - STEP, tz);
  for (let t = start; t < end; t += STEP) {
    const w = wallMs(t, tz);
    for (let skipped = prev + STEP; skipped < w; skipped += STEP) if (match(wallOf(skipped))) found.add(t + skipped - prev - STEP);
    if (match(wallOf(w))) found.add(t);
    prev = w;
  }
  return [...found]
    .filter((t) => {
      const day = new Date(wallMs(t, tz)).toISOString().slice(0, 10);
      return day >= from && day <= to;
    })
    .sort((a, b) => a - b)
    .map((t) => new Date(t).toISOString());
}

const schedule = (cron: string, timezone: string) => ({ cron, timezone });

describe('ticksBetween', () => {
  it('hourly gives 24 a day; Monday-only one a week at 06:00, nothing on other days', () => {
    const hourly = ticksBetween(schedule(HOURLY, 'UTC'), '2025-05-12', '2025-05-13', 1000);
    expect(hourly.dates).toHaveLength(48);
    expect(hourly.truncated).toBe(false);
    expect(hourly.dates[0].toISOString()).toBe('2025-05-12T00:00:00.000Z');
    expect(hourly.dates[47].toISOString()).toBe('2025-05-13T23:00:00.000Z');
    const weekly = ticksBetween(schedule(MONDAY_6, 'Europe/London'), '2025-05-01', '2025-05-31', 1000);
    expect(iso(weekly.dates)).toEqual(['05', '12', '19', '26'].map((d) => `2025-05-${d}T05:00:00.000Z`)); // 06:00 BST
  });

  it('DST days in London: 23 hourly ticks in spring, 25 in autumn', () => {
    expect(ticksBetween(schedule(HOURLY, 'Europe/London'), '2025-03-30', '2025-03-30', 1000).dates).toHaveLength(23);
    const autumn = ticksBetween(schedule(HOURLY, 'Europe/London'), '2025-10-26', '2025-10-26', 1000).dates;
    expect(autumn).toHaveLength(25);
    expect(autumn[0].toISOString()).toBe('2025-10-25T23:00:00.000Z'); // local midnight, still BST
    expect(autumn.filter((t) => wallOf(wallMs(t.getTime(), 'Europe/London')).hour === 1)).toHaveLength(2); // 01:00 BST and 01:00 GMT
    // A tick inside the spring gap fires after it, as catch-up does: 02:30 that never happens → 03:30 EDT.
    expect(iso(ticksBetween(schedule('30 2 * * *', 'America/New_York'), '2025-03-09', '2025-03-09', 10).dates)).toEqual(['2025-03-09T07:30:00.000Z']);
  });

  it('a DAG without schedule gets one run per day at midnight UTC', () => {
    expect(iso(ticksBetween(undefined, '2025-05-01', '2025-05-03', 1000).dates)).toEqual([
      '2025-05-01T00:00:00.000Z', '2025-05-02T00:00:00.000Z', '2025-05-03T00:00:00.000Z',
    ]);
  });

  it('stops at the limit and says so', () => {
    const cut = ticksBetween(schedule(HOURLY, 'UTC'), '2025-05-01', '2025-05-02', 30);
    expect(cut.dates).toHaveLength(30);
    expect(cut.truncated).toBe(true);
    expect(ticksBetween(schedule(HOURLY, 'UTC'), '2025-05-01', '2025-05-02', 48).truncated).toBe(false);
  });

  it('matches the wall-clock reference for random ranges and timezones (fast-check; the seed is printed on failure)', () => {
    const zones = ['UTC', 'Europe/London', 'America/New_York', 'Asia/Kathmandu', 'America/Santiago', 'Asia/Kolkata', 'Europe/Berlin'];
    const crons: [string, (w: Wall) => boolean][] = [
      [HOURLY, (w) => w.minute === 0],
      [MONDAY_6, (w) => w.weekday === 1 && w.hour === 6 && w.minute === 0],
      ['30 */6 * * *', (w) => w.minute === 30 && w.hour % 6 === 0],
    ];
    const day0 = Date.parse('2024-01-01T00:00:00Z');
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.constantFrom(...crons), fc.integer({ min: 0, max: 720 }), fc.integer({ min: 0, max: 9 }), (tz, [cron, match], start, span) => {
        const from = new Date(day0 + start * 86_400_000).toISOString().slice(0, 10);
        const to = new Date(day0 + (start + span) * 86_400_000).toISOString().slice(0, 10);
        expect(iso(ticksBetween(schedule(cron, tz), from, to, 100_000).dates)).toEqual(reference(tz, from, to, match));
      }),
      { numRuns: 60 },
    );
  });
});

describe('planBackfill', () => {
  const dag = { id: 'hourly_dag', schedule: schedule(HOURLY, 'UTC') } as CompiledDag;

  it('refuses more than maxRuns without confirmation, naming the count', () => {
    try {
      planBackfill(dag, '2025-05-01', '2025-05-02', { maxRuns: 47, confirmed: false });
      expect.fail('expected BACKFILL_TOO_LARGE');
    } catch (err) {
      expect(err).toBeInstanceOf(TributaryError);
      expect((err as TributaryError).code).toBe('BACKFILL_TOO_LARGE');
      expect((err as TributaryError).message).toContain('is 48 runs, more than BACKFILL_MAX_RUNS=47');
    }
    expect(planBackfill(dag, '2025-05-01', '2025-05-02', { maxRuns: 47, confirmed: true })).toHaveLength(48);
    expect(planBackfill(dag, '2025-05-01', '2025-05-02', { maxRuns: 48, confirmed: false })).toHaveLength(48);
  });

  it('refuses a range beyond the ceiling even when confirmed', () => {
    const minutely = { id: 'm', schedule: schedule('* * * * *', 'UTC') } as CompiledDag;
    expect(() => planBackfill(minutely, '2025-01-01', '2025-03-31', { maxRuns: 10, confirmed: true })).toThrow(/more than 100000 runs; split the range/);
  });
});
