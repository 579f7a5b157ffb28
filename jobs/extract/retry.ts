/**
 * Pure pieces of the retry policy: how long to back off before retry n (exponential, capped,
 * jittered) and how long a Retry-After header asks to wait (delta-seconds or an HTTP date).
 */

export interface Backoff {
  /** Delay before the first retry; doubles per retry. */
  backoffMs: number;
  /** Cap on the doubled delay. */
  maxBackoffMs: number;
}

/**
 * Delay before retry `retry` (1 = the first): min(cap, base·2^(retry−1)), jittered to between
 * half and all of it so clients that failed together do not come back together.
 * @param random a number in [0, 1), e.g. Math.random
 */
export function backoffDelay(retry: number, policy: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Milliseconds a Retry-After value asks to wait from `now`: `120` (seconds) or an HTTP date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`; a past date is 0). Null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null; // HTTP dates start with the day name
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
