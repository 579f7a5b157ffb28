/** Prometheus text exposition (format 0.0.4) of task instances per state and runs per DAG and state. */
import { TASK_STATES } from '../engine/types.ts';
import type { StateCounts } from './queries.ts';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export function renderMetrics(counts: StateCounts): string {
  const tasks = new Map<string, number>(TASK_STATES.map((s) => [s, 0]));
  for (const row of counts.tasks) tasks.set(row.state, row.count);
  const lines = [
    '# HELP tributary_task_instances Task instances by state.',
    '# TYPE tributary_task_instances gauge',
    ...[...tasks].map(([state, n]) => `tributary_task_instances{state="${escapeLabel(state)}"} ${n}`),
    '# HELP tributary_dag_runs Runs by DAG and state.',
    '# TYPE tributary_dag_runs gauge',
    ...counts.runs.map((r) => `tributary_dag_runs{dag_id="${escapeLabel(r.dagId)}",state="${escapeLabel(r.state)}"} ${r.count}`),
  ];
  return `${lines.join('\n')}\n`;
}
