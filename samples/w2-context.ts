/**
 * Shared pieces of the W2 builders: the row shape (file fields + the day it first appears + the
 * checks it fails), the build context (scale, dates, per-part PRNG streams) and number formats.
 */
import { TributaryError } from '../engine/errors.ts';
import { DAY_MS, fixed, microTimestamp } from './format.ts';
import { createRandom, deriveSeed, type Random } from './random.ts';

/** One CSV row: `day` = index of the first daily extract holding it; `tags` = checks it fails. */
export interface W2Row {
  day: number;
  fields: Array<string | null>;
  tags: string[];
}

export interface W2Context {
  seed: number;
  scale: number;
  /** 00:00 UTC of the first extract day. */
  start: number;
  /** 00:00 UTC of the last extract day. */
  end: number;
  /** A fresh, independent PRNG stream for one part of the build. */
  random(part: string): Random;
  /** A planted-defect count: `base` at scale 1, at least 1. */
  few(base: number): number;
  /** Index of the first extract (0-based) that includes something that happened at `ms`. */
  dayOf(ms: number): number;
}

export function createContext(seed: number, scale: number, start: number, days: number): W2Context {
  return {
    seed,
    scale,
    start,
    end: start + (days - 1) * DAY_MS,
    random: (part) => createRandom(deriveSeed(seed, 'w2', part)),
    few: (base) => Math.max(1, Math.round(base * scale)),
    dayOf: (ms) => Math.max(0, Math.floor((ms - start) / DAY_MS)),
  };
}

/** A timestamp with microseconds at `ms` plus random micros. */
export function stamp(random: Random, ms: number): string {
  return microTimestamp(ms, random.int(0, 999));
}

/** Money in 1e-4 units, written with four decimals; zero sometimes written '-0.0' like the real extracts. */
export function money4(random: Random, units: number): string {
  if (units === 0) return random.chance(0.5) ? '-0.0' : '0.0000';
  return fixed(units, 4);
}

/** Takes `n` distinct items out of `pool` (mutates it: the taken ones are removed). */
export function take<T>(random: Random, pool: T[], n: number, what: string): T[] {
  if (pool.length < n) {
    throw new TributaryError('ARGUMENT_INVALID', `w2: not enough ${what} to plant ${n} defects (have ${pool.length}); use a larger size`);
  }
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const j = random.int(0, pool.length - 1);
    out.push(pool[j]);
    pool[j] = pool[pool.length - 1];
    pool.pop();
  }
  return out;
}

/** Inserts `row` at a random index in [from, rows.length]. */
export function insertAfter(random: Random, rows: W2Row[], from: number, row: W2Row): void {
  rows.splice(random.int(from, rows.length), 0, row);
}
