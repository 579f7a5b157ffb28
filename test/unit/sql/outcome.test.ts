/** Severity + thresholds → outcome, like dbt's warn_if / error_if. */
import { describe, expect, it } from 'vitest';
import { breaches, countOutcomes, decideOutcome } from '../../../jobs/sql/outcome.ts';

describe('thresholds', () => {
  it('no limit given means any failing row breaches', () => {
    expect(breaches(undefined, 0, 100)).toBe(false);
    expect(breaches(undefined, 1, 100)).toBe(true);
    expect(breaches({}, 1, 100)).toBe(true);
  });

  it('count and ratio limits are exclusive upper bounds; either breaches', () => {
    expect(breaches({ count: 5 }, 5, 100)).toBe(false);
    expect(breaches({ count: 5 }, 6, 100)).toBe(true);
    expect(breaches({ ratio: 0.05 }, 5, 100)).toBe(false);
    expect(breaches({ ratio: 0.05 }, 6, 100)).toBe(true);
    expect(breaches({ ratio: 0.05 }, 1, 0)).toBe(false);
    expect(breaches({ count: 10, ratio: 0.01 }, 5, 100)).toBe(true);
  });
});

describe('outcome', () => {
  it('error severity fails past the error limit, else warns past the warn limit', () => {
    expect(decideOutcome('error', {}, 0, 10)).toBe('pass');
    expect(decideOutcome('error', {}, 1, 10)).toBe('fail');
    expect(decideOutcome('error', { error: { count: 3 } }, 2, 10)).toBe('warn');
    expect(decideOutcome('error', { error: { count: 3 }, warn: { count: 2 } }, 2, 10)).toBe('pass');
  });

  it('warn severity never fails; info always passes', () => {
    expect(decideOutcome('warn', { error: { count: 0 } }, 9, 10)).toBe('warn');
    expect(decideOutcome('warn', { warn: { ratio: 0.5 } }, 5, 10)).toBe('pass');
    expect(decideOutcome('info', {}, 9, 10)).toBe('pass');
  });

  it('counts per outcome', () => {
    expect(countOutcomes(['pass', 'warn', 'pass', 'fail'])).toEqual({ pass: 2, warn: 1, fail: 1 });
  });
});
