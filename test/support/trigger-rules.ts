/**
 * Airflow's trigger rules, the reference the engine is checked against: `decide` and `runOutcome`
 * here are the specification in TypeScript, and the one table of cases below is asserted against
 * both them (test/unit/engine/trigger-rules.test.ts) and the engine's SQL functions trib_decide /
 * trib_run_outcome (test/integration/engine/trigger-rules-sql.test.ts), which decide for real.
 */
import { TERMINAL_TASK_STATES, type TaskState, type TriggerRule } from '../../engine/types.ts';

export type Decision = 'wait' | 'run' | 'skip' | 'upstream_failed';

const TERMINAL: ReadonlySet<TaskState> = new Set(TERMINAL_TASK_STATES);

function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

function isFailed(state: TaskState): boolean {
  return state === 'failed' || state === 'upstream_failed';
}

export function decide(rule: TriggerRule, upstream: readonly TaskState[]): Decision {
  if (upstream.length === 0) return 'run';
  const anyFailed = upstream.some(isFailed);
  const allTerminal = upstream.every(isTerminal);
  switch (rule) {
    case 'all_success':
      if (anyFailed) return 'upstream_failed';
      if (upstream.includes('skipped')) return 'skip';
      return upstream.every((s) => s === 'success') ? 'run' : 'wait';
    case 'all_done':
      return allTerminal ? 'run' : 'wait';
    case 'one_failed':
      if (anyFailed) return 'run';
      return allTerminal ? 'skip' : 'wait';
    case 'none_failed':
      if (anyFailed) return 'upstream_failed';
      return allTerminal ? 'run' : 'wait';
  }
}

/** Airflow's leaf rule: a run is over when every leaf is terminal; it failed if any leaf failed. */
export function runOutcome(leafStates: readonly TaskState[]): 'success' | 'failed' | 'running' {
  if (!leafStates.every(isTerminal)) return 'running';
  return leafStates.some(isFailed) ? 'failed' : 'success';
}

export const MIXES: Record<string, TaskState[]> = {
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
export const TABLE: Record<TriggerRule, Record<keyof typeof MIXES, Decision>> = {
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

/** Leaf states → the run's outcome. */
export const OUTCOMES: [TaskState[], 'success' | 'failed' | 'running'][] = [
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
  ];
