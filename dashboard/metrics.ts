/**
 * /metrics with prom-client, one registry per dashboard. Gauges are read at scrape through bounded
 * statements: non-terminal task instances and runs (task_instances_unfinished, dag_runs_state), each DAG's newest run (one index
 * probe per DAG), queue depth (BullMQ getJobCounts). Counters and histograms are fed by what ended
 * since the previous scrape: the task instances and runs that were non-terminal then or are newer
 * (id above the previous maximum), probed by primary key — never a scan over history. So they count
 * from the dashboard's first scrape; a task cleared and ended again between two scrapes is missed.
 */
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskQueue } from '../engine/queues.ts';
import { RUN_STATES, TASK_STATES, TERMINAL_TASK_STATES } from '../engine/types.ts';

/** Task states counted by `tributary_task_instances`: the ones work is still waiting in. */
export const ACTIVE_TASK_STATES = TASK_STATES.filter((s) => !TERMINAL_TASK_STATES.includes(s));
/** Run states counted by `tributary_dag_runs`. */
export const ACTIVE_RUN_STATES = ['queued', 'running'] as const;
const TERMINAL_RUN_STATES = RUN_STATES.filter((s) => !(ACTIVE_RUN_STATES as readonly string[]).includes(s));
/** Job states of `tributary_queue_jobs`. */
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** $1 active task states → (state, count) through task_instances_unfinished (the partial index of exactly those states). */
export const TASK_COUNTS_SQL = `SELECT state, count(*)::int AS count FROM task_instances WHERE state = ANY($1::text[]) GROUP BY state`;
/** $1 active run states → (dag id, state, count) through dag_runs_state. */
export const RUN_COUNTS_SQL = `SELECT dag_id AS "dagId", state, count(*)::int AS count FROM dag_runs
  WHERE state = ANY($1::text[]) GROUP BY dag_id, state ORDER BY dag_id, state`;
/** The newest run (by logical date) of each registered DAG, through dag_runs_dag_logical_date. */
export const LAST_RUN_SQL = `SELECT d.dag_id AS "dagId", r.state FROM dags d
  CROSS JOIN LATERAL (SELECT state FROM dag_runs WHERE dag_id = d.dag_id ORDER BY logical_date DESC LIMIT 1) r
  ORDER BY d.dag_id`;

/**
 * $1 watched ids, $2 previous max id, $3 terminal states, $4 active states → in one snapshot: the
 * task instances among them that ended (DAG, duration, rows loaded/refused, check outcomes of the
 * try), the ids still active (task_instances_unfinished) and the newest id (primary key).
 */
export const ENDED_TASKS_SQL = `SELECT json_build_object(
  'ended', (SELECT coalesce(json_agg(e), '[]') FROM (
    SELECT (SELECT d.dag_id FROM dag_runs d WHERE d.id = ti.run_id) AS "dagId", ti.task_id AS "taskId",
      extract(epoch FROM ti.ended_at - ti.started_at)::float8 AS seconds,
      CASE WHEN ti.queue = 'load' AND jsonb_typeof(ti.result -> 'rows_loaded') = 'number' THEN (ti.result ->> 'rows_loaded')::float8 END AS loaded,
      CASE WHEN ti.queue = 'load' AND jsonb_typeof(ti.result -> 'rows_rejected') = 'number' THEN (ti.result ->> 'rows_rejected')::float8 END AS refused,
      (SELECT coalesce(json_agg(json_build_object('check', c.check_name, 'outcome', c.outcome)), '[]') FROM check_results c
        WHERE c.run_id = ti.run_id AND c.task_id = ti.task_id AND c.try_number = ti.try_number AND ti.map_index = -1) AS checks
    FROM task_instances ti
    WHERE (ti.id = ANY($1::bigint[]) OR ti.id > $2) AND ti.state = ANY($3::text[])) AS e),
  'active', (SELECT coalesce(array_agg(id), '{}') FROM task_instances WHERE state = ANY($4::text[])),
  'max', (SELECT coalesce(max(id), 0) FROM task_instances)) AS out`;

/**
 * $1 watched ids, $2 previous max id, $3 terminal states, $4 active states → in one snapshot: the
 * runs among them that ended (with first task start − interval end), the ids still active, the newest id.
 */
export const ENDED_RUNS_SQL = `SELECT json_build_object(
  'ended', (SELECT coalesce(json_agg(e), '[]') FROM (
    SELECT r.dag_id AS "dagId", r.state, r.run_type AS "runType",
      extract(epoch FROM (SELECT min(ti.started_at) FROM task_instances ti WHERE ti.run_id = r.id) - r.interval_end)::float8 AS lag
    FROM dag_runs r WHERE (r.id = ANY($1::bigint[]) OR r.id > $2) AND r.state = ANY($3::text[]) ORDER BY r.id) AS e),
  'active', (SELECT coalesce(array_agg(id), '{}') FROM dag_runs WHERE state = ANY($4::text[])),
  'max', (SELECT coalesce(max(id), 0) FROM dag_runs)) AS out`;

interface EndedTask { dagId: string; taskId: string; seconds: number | null; loaded: number | null; refused: number | null; checks: { check: string; outcome: string }[] }
interface EndedRun { dagId: string; state: string; runType: string; lag: number | null }
interface Snapshot<T> { ended: T[]; active: number[]; max: number }
interface Watch { active: number[]; max: number }

export interface DashboardMetrics {
  registry: Registry;
  /** The exposition text; also takes in what ended since the previous scrape. */
  scrape(): Promise<string>;
}

async function snapshot<T>(pool: pg.Pool, sql: string, watch: Watch, terminal: readonly string[], active: readonly string[]): Promise<Snapshot<T>> {
  const { rows } = await pool.query<{ out: Snapshot<T> }>(sql, [watch.active, watch.max, terminal, active]);
  return rows[0].out;
}

/** A registry over `pool`'s engine tables and the job queues named by `queues` (one per job kind). */
export function dashboardMetrics(pool: pg.Pool, queues: ReadonlyMap<string, Pick<TaskQueue, 'getJobCounts'>>): DashboardMetrics {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'tributary_task_instances', help: 'Task instances in a non-terminal state, by state.', labelNames: ['state'], registers,
    async collect() {
      const counts = new Map<string, number>(ACTIVE_TASK_STATES.map((s) => [s, 0]));
      for (const r of (await pool.query<{ state: string; count: number }>(TASK_COUNTS_SQL, [ACTIVE_TASK_STATES])).rows) counts.set(r.state, r.count);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'tributary_dag_runs', help: 'Queued and running runs by DAG and state.', labelNames: ['dag_id', 'state'], registers,
    async collect() {
      this.reset();
      for (const r of (await pool.query<{ dagId: string; state: string; count: number }>(RUN_COUNTS_SQL, [ACTIVE_RUN_STATES])).rows) {
        this.set({ dag_id: r.dagId, state: r.state }, r.count);
      }
    },
  });
  new Gauge({
    name: 'tributary_dag_last_run', help: 'The state of each DAG\'s newest run (by logical date), as a label; value 1.', labelNames: ['dag_id', 'state'], registers,
    async collect() {
      this.reset();
      for (const r of (await pool.query<{ dagId: string; state: string }>(LAST_RUN_SQL)).rows) this.set({ dag_id: r.dagId, state: r.state }, 1);
    },
  });
  new Gauge({
    name: 'tributary_queue_jobs', help: 'Jobs of each queue by BullMQ state.', labelNames: ['queue', 'state'], registers,
    async collect() {
      await Promise.all([...queues].map(async ([queue, jobs]) => {
        const counts = await jobs.getJobCounts(...QUEUE_JOB_STATES);
        for (const state of QUEUE_JOB_STATES) this.set({ queue, state }, counts[state] ?? 0);
      }));
    },
  });
  const duration = new Histogram({
    name: 'tributary_task_duration_seconds', help: 'Duration of task instances that ended (their last try), by DAG and task.',
    labelNames: ['dag_id', 'task_id'], buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400], registers,
  });
  const loaded = new Counter({ name: 'tributary_rows_loaded_total', help: 'Rows loaded by load tasks that ended.', labelNames: ['dag_id', 'task_id'], registers });
  const refused = new Counter({ name: 'tributary_rows_refused_total', help: 'Rows refused (in the audit table) by load tasks that ended.', labelNames: ['dag_id', 'task_id'], registers });
  const checks = new Counter({ name: 'tributary_check_outcomes_total', help: 'Check results of validate tasks that ended, by outcome.', labelNames: ['dag_id', 'check', 'outcome'], registers });
  const runsEnded = new Counter({ name: 'tributary_dag_runs_ended_total', help: 'Runs that ended, by DAG and state.', labelNames: ['dag_id', 'state'], registers });
  const lag = new Gauge({
    name: 'tributary_scheduler_lag_seconds', help: 'Of the newest scheduled run that ended: its first task start − its data interval end.',
    labelNames: ['dag_id'], registers,
  });

  let watch: { tasks: Watch; runs: Watch } | undefined;
  const takeEnded = async () => {
    const [tasks, runs] = await Promise.all([
      snapshot<EndedTask>(pool, ENDED_TASKS_SQL, watch?.tasks ?? { active: [], max: Number.MAX_SAFE_INTEGER }, TERMINAL_TASK_STATES, ACTIVE_TASK_STATES),
      snapshot<EndedRun>(pool, ENDED_RUNS_SQL, watch?.runs ?? { active: [], max: Number.MAX_SAFE_INTEGER }, TERMINAL_RUN_STATES, ACTIVE_RUN_STATES),
    ]);
    if (watch) {
      for (const t of tasks.ended) {
        const labels = { dag_id: t.dagId, task_id: t.taskId };
        if (t.seconds !== null) duration.observe(labels, t.seconds);
        if (t.loaded !== null) loaded.inc(labels, t.loaded);
        if (t.refused !== null) refused.inc(labels, t.refused);
        for (const c of t.checks) checks.inc({ dag_id: t.dagId, check: c.check, outcome: c.outcome });
      }
      for (const r of runs.ended) {
        runsEnded.inc({ dag_id: r.dagId, state: r.state });
        if (r.runType === 'scheduled' && r.lag !== null) lag.set({ dag_id: r.dagId }, r.lag);
      }
    }
    watch = { tasks: { active: tasks.active, max: tasks.max }, runs: { active: runs.active, max: runs.max } };
  };
  /** Scrapes one at a time, so an end is taken in once. */
  let queue: Promise<unknown> = Promise.resolve();
  return {
    registry,
    scrape() {
      const next = queue.then(takeEnded).then(() => registry.metrics());
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
