/**
 * The reject limit of one file: (rejectLimit, rows read, rows refused) → fail (REJECT_LIMIT_EXCEEDED,
 * nothing committed) or a warning line for the task's result. The fail count is also checked
 * while reading, so a file past it stops at the first row too many.
 */
import { TributaryError } from '../../engine/errors.ts';
import { breaches, type Threshold } from '../sql/outcome.ts';
import type { LoadOptions } from './options.ts';

type RejectLimit = LoadOptions['rejectLimit'];

/** What a level allows, for messages: `count 3`, `ratio 0.01`, `count 3 or ratio 0.01`, `0 rows`. */
function describe(level: Threshold): string {
  const parts = [level.count === undefined ? null : `count ${level.count}`, level.ratio === undefined ? null : `ratio ${level.ratio}`];
  return parts.filter((p) => p !== null).join(' or ') || 'count 0';
}

const share = (refused: number, read: number) => (read === 0 ? '' : ` (${((100 * refused) / read).toFixed(2)}%)`);

/** While reading: throws once the refused rows pass the fail count (the ratio waits for the end). */
export function checkRejectCount(limit: RejectLimit, path: string, refused: number, line: number, reason: string): void {
  const count = limit.fail === undefined ? undefined : (limit.fail.count ?? (limit.fail.ratio === undefined ? 0 : undefined));
  if (count !== undefined && refused > count) {
    throw new TributaryError('REJECT_LIMIT_EXCEEDED', `${path}: more than ${count} rows refused (line ${line}: ${reason})`);
  }
}

/** At the end of a file: throws when the refused rows pass the fail level. */
export function checkRejectLimit(limit: RejectLimit, path: string, read: number, refused: number): void {
  if (limit.fail !== undefined && breaches(limit.fail, refused, read)) {
    throw new TributaryError('REJECT_LIMIT_EXCEEDED',
      `${path}: ${refused} of ${read} rows refused${share(refused, read)}, above the fail limit ${describe(limit.fail)}`);
  }
}

/** The warning of a loaded file whose refused rows pass the warn level, else null. */
export function rejectWarning(limit: RejectLimit, path: string, read: number, refused: number): string | null {
  if (limit.warn === undefined || !breaches(limit.warn, refused, read)) return null;
  return `${path}: ${refused} of ${read} rows refused${share(refused, read)}, above the warn limit ${describe(limit.warn)}`;
}
