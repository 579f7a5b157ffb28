/**
 * Prometheus text exposition (format 0.0.4). Every statement is bounded by an index, never a
 * full-table GROUP BY: task instances and runs are counted only in their non-terminal states
 * (through the state indexes), and each DAG's latest run is one index probe per registered DAG.
 */
import type pg from 'pg';
import { TASK_STATES, TERMINAL_TASK_STATES } from '../engine/types.ts';

/** Task states counted by `tributary_task_instances`: the ones work is still waiting in. */
export const ACTIVE_TASK_STATES = TASK_STATES.filter((s) => !TERMINAL_TASK_STATES.includes(s));
/** Run states counted by `tributary_dag_runs`. */
export const ACTIVE_RUN_STATES = ['queued', 'running'] as const;

/** $1 active task states → (state, count) through task_instances_state. */
export const TASK_COUNTS_SQL = `SELECT state, count(*)::int AS count FROM task_instances WHERE state = ANY($1::text[]) GROUP BY state`;
/** $1 active run states → (dag id, state, count) through dag_runs_state. */
export const RUN_COUNTS_SQL = `SELECT dag_id AS "dagId", state, count(*)::int AS count FROM dag_runs
  WHERE state = ANY($1::text[]) GROUP BY dag_id, state ORDER BY dag_id, state`;
/** The newest run (by logical date) of each registered DAG, through dag_runs_dag_logical_date. */
export const LAST_RUN_SQL = `SELECT d.dag_id AS "dagId", r.state FROM dags d
  CROSS JOIN LATERAL (SELECT state FROM dag_runs WHERE dag_id = d.dag_id ORDER BY logical_date DESC LIMIT 1) r
  ORDER BY d.dag_id`;

export interface MetricCounts {
  tasks: { state: string; count: number }[];
  runs: { dagId: string; state: string; count: number }[];
  lastRuns: { dagId: string; state: string }[];
}

export async function metricCounts(pool: pg.Pool): Promise<MetricCounts> {
  const tasks = await pool.query<{ state: string; count: number }>(TASK_COUNTS_SQL, [ACTIVE_TASK_STATES]);
  const runs = await pool.query<{ dagId: string; state: string; count: number }>(RUN_COUNTS_SQL, [ACTIVE_RUN_STATES]);
  const lastRuns = await pool.query<{ dagId: string; state: string }>(LAST_RUN_SQL);
  return { tasks: tasks.rows, runs: runs.rows, lastRuns: lastRuns.rows };
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(counts: MetricCounts): string {
  const tasks = new Map<string, number>(ACTIVE_TASK_STATES.map((s) => [s, 0]));
  for (const row of counts.tasks) tasks.set(row.state, row.count);
  const lines = [
    '# HELP tributary_task_instances Task instances in a non-terminal state, by state.',
    '# TYPE tributary_task_instances gauge',
    ...[...tasks].map(([state, n]) => `tributary_task_instances{state="${escapeLabel(state)}"} ${n}`),
    '# HELP tributary_dag_runs Queued and running runs by DAG and state.',
    '# TYPE tributary_dag_runs gauge',
    ...counts.runs.map((r) => `tributary_dag_runs{dag_id="${escapeLabel(r.dagId)}",state="${escapeLabel(r.state)}"} ${r.count}`),
    '# HELP tributary_dag_last_run The state of each DAG\'s newest run (by logical date), as a label; value 1.',
    '# TYPE tributary_dag_last_run gauge',
    ...counts.lastRuns.map((r) => `tributary_dag_last_run{dag_id="${escapeLabel(r.dagId)}",state="${escapeLabel(r.state)}"} 1`),
  ];
  return `${lines.join('\n')}\n`;
}
