/** Mutation list, part: the operator pages (issue 18: trigger form, backfill limit, last run, checks, pause, logs, wait reason, wording). See test/mutations.ts. */
import type { Mutation } from '../mutations.ts';

const OPERATOR_TEST = 'test/e2e/ui-operator.test.ts';

export const DASHBOARD_MUTATIONS: Mutation[] = [
  {
    id: 'form-field-per-param',
    file: 'dashboard/params-form.ts',
    find: 'return Object.entries(dag.paramSchema.shape).map(([name, schema]) => {',
    replace: 'return Object.entries(dag.paramSchema.shape).slice(1).map(([name, schema]) => {',
    tests: [OPERATOR_TEST],
    guards: 'the trigger form has one field per declared param of the DAG',
  },
  {
    id: 'form-number-as-typed',
    file: 'dashboard/params-form.ts',
    find: "else if (f.kind === 'number' || f.kind === 'integer') params[f.name] = Number.isFinite(Number(typed)) ? Number(typed) : typed;",
    replace: "else if (f.kind === 'number' || f.kind === 'integer') params[f.name] = Math.round(Number(typed)) || 0;",
    tests: [OPERATOR_TEST],
    guards: 'a number field passes what was typed to validateParams, which refuses a wrong type beside the field (no run)',
  },
  {
    id: 'ui-backfill-confirmed',
    file: 'dashboard/ui.ts',
    find: "const confirmed = req.body.confirmed === 'yes';",
    replace: 'const confirmed = true;',
    tests: [OPERATOR_TEST],
    guards: 'the UI backfill creates more than BACKFILL_MAX_RUNS runs only with its confirmation ticked, as the API',
  },
  {
    id: 'home-last-run-created',
    file: 'dashboard/home-queries.ts',
    find: 'ORDER BY d.dag_id, r.id DESC`;',
    replace: 'ORDER BY d.dag_id, r.logical_date DESC`;',
    tests: [OPERATOR_TEST],
    guards: "the DAG list's last run is the most recently created one, not the newest logical date",
  },
  {
    id: 'home-checks-by-severity',
    file: 'dashboard/home-queries.ts',
    find: "SELECT count(*) FILTER (WHERE c.outcome = 'fail')::int AS error, count(*) FILTER (WHERE c.outcome = 'warn')::int AS warn",
    replace: "SELECT count(*) FILTER (WHERE c.outcome = 'fail')::int AS error, count(*) FILTER (WHERE c.outcome = 'fail')::int AS warn",
    tests: [OPERATOR_TEST],
    guards: "the DAG list counts the last run's checks failing at warn apart from those failing at error",
  },
  {
    id: 'dag-page-pause-back',
    file: 'dashboard/ui.ts',
    find: "const back = (req.body as { next?: unknown } | undefined)?.next === 'dag' ? `/dags/${encodeURIComponent(dag.id)}` : '/';",
    replace: "const back = '/';",
    tests: [OPERATOR_TEST],
    guards: "the DAG page's pause toggle returns to the DAG page, which shows the new state",
  },
  {
    id: 'log-line-fields',
    file: 'dashboard/pages/run.ts',
    find: "${l.level.padEnd(5)} ${l.message}${logFields(l.fields)}</span>",
    replace: '${l.level.padEnd(5)} ${l.message}</span>',
    tests: [OPERATOR_TEST],
    guards: "a log line shows its fields (url, reason, …) after its message",
  },
  {
    id: 'error-code-once',
    file: 'dashboard/pages/run.ts',
    find: "const rest = error?.startsWith(`${code}: `) ? error.slice(code.length + 2) : error ?? '';",
    replace: "const rest = error ?? '';",
    tests: [OPERATOR_TEST],
    guards: 'the run page prints a task\'s error code once ("CHECK_FAILED CHECK_FAILED: …" was the bug)',
  },
  {
    id: 'run-page-wait-reason',
    file: 'dashboard/pages/run.ts',
    find: "${run.state === 'queued' && run.waitReason ? html`<p class=\"flash waiting\" id=\"wait-reason\" role=\"status\"><strong>Queued, not started:</strong> ${run.waitReason}</p>` : ''}",
    replace: "${''}",
    tests: [OPERATOR_TEST],
    guards: 'a queued run\'s page says why it waits',
  },
  {
    id: 'metrics-active-tasks-indexed',
    file: 'dashboard/metrics.ts',
    find: 'count(*)::int AS count FROM task_instances WHERE state = ANY($1::text[]) GROUP BY state`;',
    replace: "count(*)::int AS count FROM task_instances WHERE state || '' = ANY($1::text[]) GROUP BY state`;",
    tests: ['test/integration/dashboard/metrics.test.ts'],
    guards: 'the count of active tasks reads the partial index of active states, never the whole history',
  },
];
