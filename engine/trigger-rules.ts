/**
 * Trigger rules (Airflow semantics): given the states of a task's upstream instances, decide
 * whether it waits, runs, is skipped or becomes upstream_failed; and a run's outcome from its leaves.
 * Pure functions, no I/O.
 */
import { TERMINAL_TASK_STATES, type TaskState, type TriggerRule } from './types.ts';

export type Decision = 'wait' | 'run' | 'skip' | 'upstream_failed';

const TERMINAL: ReadonlySet<TaskState> = new Set(TERMINAL_TASK_STATES);

export function isTerminal(state: TaskState): boolean {
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
