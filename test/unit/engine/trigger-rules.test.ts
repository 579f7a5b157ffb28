/** Trigger rules × upstream state mixes, and the run outcome leaf rule (pure, no services). */
import { describe, expect, it } from 'vitest';
import { decide, runOutcome, type Decision } from '../../../engine/trigger-rules.ts';
import { TASK_STATES, TRIGGER_RULES, type TaskState, type TriggerRule } from '../../../engine/types.ts';

const MIXES: Record<string, TaskState[]> = {
  none: [],
  all_success: ['success', 'success'],
  success_running: ['success', 'running'],
  success_queued: ['success', 'queued'],
  success_none: ['success', 'none'],
  success_retry: ['success', 'up_for_retry'],
  success_mapped: ['success', 'mapped'],
  success_skipped: ['success', 'skipped'],
  all_skipped: ['skipped', 'skipped'],
  skipped_running: ['skipped', 'running'],
  success_failed: ['success', 'failed'],
  failed_running: ['failed', 'running'],
  success_upstream_failed: ['success', 'upstream_failed'],
  upstream_failed_running: ['upstream_failed', 'none'],
  skipped_failed: ['skipped', 'failed'],
  all_failed: ['failed', 'failed'],
};

// Airflow semantics, written out row by row so a change in any cell shows up.
const TABLE: Record<TriggerRule, Record<keyof typeof MIXES, Decision>> = {
  all_success: {
    none: 'run',
    all_success: 'run',
    success_running: 'wait',
    success_queued: 'wait',
    success_none: 'wait',
    success_retry: 'wait',
    success_mapped: 'wait',
    success_skipped: 'skip',
    all_skipped: 'skip',
    skipped_running: 'skip',
    success_failed: 'upstream_failed',
    failed_running: 'upstream_failed',
    success_upstream_failed: 'upstream_failed',
    upstream_failed_running: 'upstream_failed',
    skipped_failed: 'upstream_failed',
    all_failed: 'upstream_failed',
  },
  all_done: {
    none: 'run',
    all_success: 'run',
    success_running: 'wait',
    success_queued: 'wait',
    success_none: 'wait',
    success_retry: 'wait',
    success_mapped: 'wait',
    success_skipped: 'run',
    all_skipped: 'run',
    skipped_running: 'wait',
    success_failed: 'run',
    failed_running: 'wait',
    success_upstream_failed: 'run',
    upstream_failed_running: 'wait',
    skipped_failed: 'run',
    all_failed: 'run',
  },
  one_failed: {
    none: 'run',
    all_success: 'skip',
    success_running: 'wait',
    success_queued: 'wait',
    success_none: 'wait',
    success_retry: 'wait',
    success_mapped: 'wait',
    success_skipped: 'skip',
    all_skipped: 'skip',
    skipped_running: 'wait',
    success_failed: 'run',
    failed_running: 'run',
    success_upstream_failed: 'run',
    upstream_failed_running: 'run',
    skipped_failed: 'run',
    all_failed: 'run',
  },
  none_failed: {
    none: 'run',
    all_success: 'run',
    success_running: 'wait',
    success_queued: 'wait',
    success_none: 'wait',
    success_retry: 'wait',
    success_mapped: 'wait',
    success_skipped: 'run',
    all_skipped: 'run',
    skipped_running: 'wait',
    success_failed: 'upstream_failed',
    failed_running: 'upstream_failed',
    success_upstream_failed: 'upstream_failed',
    upstream_failed_running: 'upstream_failed',
    skipped_failed: 'upstream_failed',
    all_failed: 'upstream_failed',
  },
};

describe('decide', () => {
  for (const rule of TRIGGER_RULES) {
    for (const [mix, states] of Object.entries(MIXES)) {
      it(`${rule} with upstream [${states.join(', ')}] → ${TABLE[rule][mix]}`, () => {
        expect(decide(rule, states)).toBe(TABLE[rule][mix]);
      });
    }
  }

  it('does not depend on the order of upstream states', () => {
    for (const rule of TRIGGER_RULES) {
      for (const states of Object.values(MIXES)) {
        expect(decide(rule, [...states].reverse())).toBe(decide(rule, states));
      }
    }
  });

  it('a single upstream in any state: all_success runs only after success', () => {
    const runs = TASK_STATES.filter((s) => decide('all_success', [s]) === 'run');
    expect(runs).toEqual(['success']);
  });
});

describe('runOutcome', () => {
  it.each<[TaskState[], 'success' | 'failed' | 'running']>([
    [[], 'success'],
    [['success', 'success'], 'success'],
    [['success', 'skipped'], 'success'],
    [['skipped'], 'success'],
    [['success', 'failed'], 'failed'],
    [['upstream_failed', 'success'], 'failed'],
    [['failed', 'running'], 'running'],
    [['success', 'none'], 'running'],
    [['success', 'queued'], 'running'],
    [['success', 'up_for_retry'], 'running'],
    [['mapped'], 'running'],
  ])('leaves %j → %s', (leaves, outcome) => {
    expect(runOutcome(leaves)).toBe(outcome);
  });
});
