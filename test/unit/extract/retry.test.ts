import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../../jobs/extract/retry.ts';

const policy = { backoffMs: 100, maxBackoffMs: 1000 };

describe('backoffDelay', () => {
  it('doubles per retry, between half and all of the doubled delay', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0.999_999))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(150);
  });

  it('caps at maxBackoffMs, also for very late retries', () => {
    expect(backoffDelay(5, policy, () => 0.999_999)).toBe(1000);
    expect(backoffDelay(60, policy, () => 0)).toBe(500);
    expect(backoffDelay(2000, policy, () => 0)).toBe(500);
  });

  it('jitters with Math.random by default, inside the bounds', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(3, policy));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it('is zero with a zero base', () => {
    expect(backoffDelay(3, { backoffMs: 0, maxBackoffMs: 1000 }, () => 0.7)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-05-13T10:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
  });

  it('reads an HTTP date (IMF-fixdate and RFC 850) as the time left; a past date is 0', () => {
    expect(parseRetryAfter('Tue, 13 May 2025 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Tuesday, 13-May-25 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 12 May 2025 10:00:00 GMT', now)).toBe(0);
  });

  it('is null when absent or unreadable', () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    for (const bad of ['', '-1', '1.5', 'soon', '2025-05-13T10:00:05Z', 'Tue, 99 Foo 2025 xx GMT']) expect(parseRetryAfter(bad, now), bad).toBeNull();
  });
});
