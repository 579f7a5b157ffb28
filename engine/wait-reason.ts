/**
 * Why a queued run has not started, as one line for people (`trib run show`, /api/runs/:id, the run
 * page, a trigger's answer): its DAG's pause, or the runs holding the DAG's maxActiveRuns slots and
 * what each of them is doing — a sensor's wait in its own words (jobs/sensor/wait-state.ts), the
 * tasks running, retrying or queued. Read-only; null for a run that is not queued.
 */
import type pg from 'pg';
import { waitingOf } from '../jobs/sensor/wait-state.ts';
import type { Json } from './types.ts';

interface QueuedRun {
  state: string;
  dag_id: string;
  run_type: string;
  logical_date: Date;
  paused: boolean | null;
  paused_by: string | null;
  max_active_runs: number | null;
}

export async function runWaitReason(pool: pg.Pool | pg.PoolClient, runId: number, now = new Date()): Promise<string | null> {
  const { rows } = await pool.query<QueuedRun>(
    `SELECT r.state, r.dag_id, r.run_type, r.logical_date, d.paused, d.paused_by, d.max_active_runs
     FROM dag_runs r LEFT JOIN dags d ON d.dag_id = r.dag_id WHERE r.id = $1`,
    [runId],
  );
  const run = rows[0];
  if (!run || run.state !== 'queued') return null;
  const dag = run.dag_id;
  if (run.paused === null || run.max_active_runs === null) {
    return `dag ${dag} is not registered in this database: a scheduler or worker that loads it starts the run`;
  }
  // A pause at creation holds back scheduled runs only (engine/sql/start-queued-runs.sql).
  const creationPause = run.paused && run.paused_by === 'creation';
  if (run.paused && !creationPause) return `dag ${dag} was paused by an operator (trib unpause ${dag})`;
  if (creationPause && run.run_type === 'scheduled') {
    return `dag ${dag} is new and its schedule is off: its scheduled runs wait (trib unpause ${dag})`;
  }
  const { rows: running } = await pool.query<{ id: string }>(
    `SELECT id FROM dag_runs WHERE dag_id = $1 AND state = 'running' ORDER BY logical_date, id`, [dag],
  );
  const { rows: [ahead] } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = $1 AND state = 'queued' AND logical_date < $2
       AND ($3::boolean IS FALSE OR run_type IN ('manual', 'backfill'))`,
    [dag, run.logical_date, creationPause],
  );
  const before = ahead.n === 0 ? '' : `; ${ahead.n} older queued run${ahead.n === 1 ? '' : 's'} start${ahead.n === 1 ? 's' : ''} first`;
  const limit = `maxActiveRuns ${run.max_active_runs}`;
  if (running.length < run.max_active_runs) {
    return `a slot is free (${limit}, ${running.length} running): the next sweep starts it${before}`;
  }
  const holders = await Promise.all(running.map(async (r) => ({ id: r.id, doing: await whatRunDoes(pool, Number(r.id), now) })));
  if (holders.length === 1) return `waiting for run ${holders[0].id} (${limit}), ${holders[0].doing}${before}`;
  return `waiting for runs ${holders.map((h) => h.id).join(', ')} (${limit}): ${holders.map((h) => `run ${h.id} ${h.doing}`).join('; ')}${before}`;
}

/**
 * What a running run is busy with: `whose task extracts is waiting for 10 files matching …`, else
 * `which is running task load`, `which is retrying task load`, `which has task load queued`.
 */
async function whatRunDoes(pool: pg.Pool | pg.PoolClient, runId: number, now: Date): Promise<string> {
  const { rows } = await pool.query<{ task: string; state: string; resume_state: Json }>(
    `SELECT CASE WHEN map_index < 0 THEN task_id ELSE task_id || '[' || map_index || ']' END AS task, state, resume_state
     FROM task_instances WHERE run_id = $1 AND state IN ('queued', 'running', 'up_for_retry') ORDER BY id`,
    [runId],
  );
  for (const row of rows) {
    const waiting = row.state === 'up_for_retry' ? null : waitingOf(row.resume_state, now);
    if (waiting) return `whose task ${row.task} is ${waiting.text}`;
  }
  const named = (state: string) => rows.filter((r) => r.state === state).map((r) => r.task);
  const tasks = (ids: string[]) =>
    `task${ids.length === 1 ? '' : 's'} ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`;
  if (named('running').length > 0) return `which is running ${tasks(named('running'))}`;
  if (named('up_for_retry').length > 0) return `which is retrying ${tasks(named('up_for_retry'))}`;
  if (named('queued').length > 0) return `which has ${tasks(named('queued'))} queued for a worker`;
  return 'which is between tasks';
}
