/**
 * Calendar days as written on the command line and in the API: 'YYYY-MM-DD'. Kept apart from
 * engine/schedule.ts (which loads the cron parser) so `trib` can check a --date without it.
 */
import { TributaryError } from './errors.ts';

/** Validates 'YYYY-MM-DD' as an existing calendar day; returns its UTC midnight in ms. */
export function parseDay(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw new TributaryError('ARGUMENT_INVALID', `date "${day}" is not an existing calendar day in the form YYYY-MM-DD`);
  }
  return ms;
}
