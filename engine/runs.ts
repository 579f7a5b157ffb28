/**
 * Run lifecycle in Postgres: register DAGs, create runs (idempotent on dag_id + logical_date),
 * and start queued runs within maxActiveRuns. Every function takes a client inside the caller's
 * transaction and returns the jobs to enqueue after COMMIT.
 */
import type pg from 'pg';
import { advanceRun } from './advance.ts';
import type { PendingJob } from './jobs.ts';
import type { CompiledDag, Json } from './types.ts';

export type RunType = 'scheduled' | 'manual' | 'backfill';

/** Upserts the DAG registry; the operator's paused flag is kept. */
export async function registerDags(client: pg.PoolClient | pg.Pool, dags: Iterable<CompiledDag>): Promise<void> {
  for (const dag of dags) {
    await client.query(
      `INSERT INTO dags (dag_id, file, schedule, timezone) VALUES ($1, $2, $3, $4)
       ON CONFLICT (dag_id) DO UPDATE SET file = EXCLUDED.file, schedule = EXCLUDED.schedule,
         timezone = EXCLUDED.timezone, updated_at = now()`,
      [dag.id, dag.file, dag.schedule?.cron ?? null, dag.schedule?.timezone ?? null],
    );
  }
}

export interface NewRun {
  logicalDate: Date;
  intervalEnd: Date;
  runType: RunType;
  params?: Record<string, Json>;
}

/**
 * Creates the run and one task instance per task (state 'none'). Returns the run id and whether
 * this call created it: a second call for the same dag + logical date changes nothing.
 */
export async function createRun(
  client: pg.PoolClient,
  dag: CompiledDag,
  run: NewRun,
): Promise<{ runId: number; created: boolean }> {
  const params = { ...dag.params, ...(run.params ?? {}) };
  const inserted = await client.query<{ id: number }>(
    `INSERT INTO dag_runs (dag_id, logical_date, interval_end, run_type, params)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dag_id, logical_date) DO NOTHING RETURNING id`,
    [dag.id, run.logicalDate, run.intervalEnd, run.runType, JSON.stringify(params)],
  );
  if (inserted.rows.length === 0) {
    const existing = await client.query<{ id: number }>(
      'SELECT id FROM dag_runs WHERE dag_id = $1 AND logical_date = $2',
      [dag.id, run.logicalDate],
    );
    return { runId: existing.rows[0].id, created: false };
  }
  const runId = inserted.rows[0].id;
  const tasks = [...dag.tasks.values()];
  await client.query(
    `INSERT INTO task_instances (run_id, task_id, map_index, state, max_tries, queue)
     SELECT $1, t.task_id, -1, 'none', t.max_tries, t.queue
     FROM unnest($2::text[], $3::int[], $4::text[]) AS t(task_id, max_tries, queue)`,
    [runId, tasks.map((t) => t.id), tasks.map((t) => t.retries + 1), tasks.map((t) => t.kind)],
  );
  return { runId, created: true };
}

/**
 * Starts this DAG's queued runs, oldest logical date first, while fewer than maxActiveRuns are
 * running; a paused DAG starts nothing. Serialised per DAG by the registry row lock. Queued runs
 * another transaction holds are skipped, never waited for: a run ending hands off while holding
 * its own row, so waiting on a run row here, registry lock in hand, could close a deadlock.
 */
export async function startQueuedRuns(client: pg.PoolClient, dag: CompiledDag): Promise<PendingJob[]> {
  const registry = await client.query<{ paused: boolean }>('SELECT paused FROM dags WHERE dag_id = $1 FOR UPDATE', [dag.id]);
  if (registry.rows[0]?.paused) return [];
  const { rows } = await client.query<{ id: number }>(
    `WITH active AS (SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = $1 AND state = 'running')
     UPDATE dag_runs SET state = 'running', started_at = clock_timestamp()
     WHERE id IN (
       SELECT id FROM dag_runs WHERE dag_id = $1 AND state = 'queued'
       ORDER BY logical_date LIMIT GREATEST(0, $2 - (SELECT n FROM active)) FOR UPDATE SKIP LOCKED
     ) RETURNING id`,
    [dag.id, dag.maxActiveRuns],
  );
  const jobs: PendingJob[] = [];
  for (const { id } of rows) jobs.push(...(await advanceRun(client, dag, id)).jobs);
  return jobs;
}

export async function setPaused(client: pg.Pool | pg.PoolClient, dagId: string, paused: boolean): Promise<void> {
  await client.query('UPDATE dags SET paused = $2, updated_at = now() WHERE dag_id = $1', [dagId, paused]);
}
