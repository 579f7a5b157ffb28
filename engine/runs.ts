/**
 * Run lifecycle in Postgres: register DAGs (and their task graphs), create runs (idempotent on
 * dag_id + logical_date, engine/sql/create-run.sql). Starting queued runs is engine/transitions.ts
 * `startQueuedRuns`.
 */
import type pg from 'pg';
import { withTransaction } from '../db/client.ts';
import { runCallbackEvents, taskCallbackEvents } from './callbacks.ts';
import type { CompiledDag, CompiledTask, Json } from './types.ts';

export type RunType = 'scheduled' | 'manual' | 'backfill';

/**
 * Upserts the DAG registry and each DAG's task graph in dag_tasks, which the engine's SQL
 * functions read. A DAG new to the registry starts paused by 'creation' when its own
 * `pausedAtCreation`, else `options.pausedAtCreation`, says so; an existing row keeps its pause
 * flag and its reason. One transaction, DAGs in id order, so two processes registering at once
 * never interleave or deadlock.
 */
export async function registerDags(pool: pg.Pool, dags: Iterable<CompiledDag>, options: { pausedAtCreation: boolean } = { pausedAtCreation: false }): Promise<void> {
  await withTransaction(pool, async (client) => {
    for (const dag of [...dags].sort((a, b) => a.id.localeCompare(b.id))) {
      const paused = dag.pausedAtCreation ?? options.pausedAtCreation;
      await client.query(
        `INSERT INTO dags (dag_id, file, schedule, timezone, max_active_runs, run_callbacks, run_fails_on, paused, paused_by, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 THEN 'creation' END, $9)
         ON CONFLICT (dag_id) DO UPDATE SET file = EXCLUDED.file, schedule = EXCLUDED.schedule, timezone = EXCLUDED.timezone,
           max_active_runs = EXCLUDED.max_active_runs, run_callbacks = EXCLUDED.run_callbacks,
           run_fails_on = EXCLUDED.run_fails_on, version = EXCLUDED.version, updated_at = now()`,
        [dag.id, dag.file, dag.schedule?.cron ?? null, dag.schedule?.timezone ?? null, dag.maxActiveRuns, runCallbackEvents(dag),
          dag.runFailsOn, paused, dag.version],
      );
      const tasks = dag.order.map((id, ord) => {
        const t = dag.tasks.get(id) as CompiledTask;
        return {
          task_id: t.id, ord, upstream: t.upstream, downstream: t.downstream, trigger_rule: t.triggerRule, queue: t.kind,
          priority: t.priority ?? null, retries: t.retries, map_over_task: t.mapOver?.task ?? null,
          map_over_path: t.mapOver?.path ?? null, callback_events: taskCallbackEvents(dag, t),
        };
      });
      await client.query('DELETE FROM dag_tasks WHERE dag_id = $1 AND NOT (task_id = ANY($2::text[]))', [dag.id, dag.order]);
      await client.query(
        `INSERT INTO dag_tasks (dag_id, task_id, ord, upstream, downstream, trigger_rule, queue, priority, retries,
           map_over_task, map_over_path, callback_events)
         SELECT $1, t.task_id, t.ord, t.upstream, t.downstream, t.trigger_rule, t.queue, t.priority, t.retries,
           t.map_over_task, t.map_over_path, t.callback_events
         FROM jsonb_to_recordset($2::jsonb) AS t(task_id text, ord int, upstream text[], downstream text[], trigger_rule text,
           queue text, priority int, retries int, map_over_task text, map_over_path text, callback_events text[])
         ON CONFLICT (dag_id, task_id) DO UPDATE SET ord = EXCLUDED.ord, upstream = EXCLUDED.upstream,
           downstream = EXCLUDED.downstream, trigger_rule = EXCLUDED.trigger_rule, queue = EXCLUDED.queue,
           priority = EXCLUDED.priority, retries = EXCLUDED.retries, map_over_task = EXCLUDED.map_over_task,
           map_over_path = EXCLUDED.map_over_path, callback_events = EXCLUDED.callback_events`,
        [dag.id, JSON.stringify(tasks)],
      );
    }
  });
}

export interface NewRun {
  logicalDate: Date;
  intervalEnd: Date;
  runType: RunType;
  params?: Record<string, Json>;
  /** Who asked for it (an audit actor); kept in dag_runs.triggered_by. */
  triggeredBy?: string;
}

/**
 * Creates the run and one task instance per task (state 'none'). Returns the run id and whether
 * this call created it: a second call for the same dag + logical date changes nothing (nor who
 * triggered it).
 */
export async function createRun(
  client: pg.PoolClient,
  dag: CompiledDag,
  run: NewRun,
): Promise<{ runId: number; created: boolean }> {
  const params = { ...dag.params, ...(run.params ?? {}) };
  const tasks = [...dag.tasks.values()];
  const { rows } = await client.query<{ run_id: number; created: boolean }>('SELECT * FROM trib_create_run($1, $2, $3, $4, $5, $6, $7, $8)', [
    dag.id, run.logicalDate, run.intervalEnd, run.runType, JSON.stringify(params),
    tasks.map((t) => t.id), tasks.map((t) => t.retries + 1), tasks.map((t) => t.kind),
  ]);
  if (rows[0].created) {
    await client.query('UPDATE dag_runs SET triggered_by = $2, dag_version = $3 WHERE id = $1', [rows[0].run_id, run.triggeredBy?.slice(0, 200) ?? null, dag.version]);
  }
  return { runId: rows[0].run_id, created: rows[0].created };
}

/** Why a DAG is paused (dags.paused_by), null when it is not. */
export type PausedBy = 'creation' | 'operator' | null;

/**
 * The operator's pause (paused_by 'operator': nothing starts) or unpause (schedule on). Returns
 * the pause it replaced (a paused row from before paused_by existed counts as 'operator').
 */
export async function setPaused(client: pg.Pool | pg.PoolClient, dagId: string, paused: boolean): Promise<PausedBy> {
  const { rows } = await client.query<{ was: PausedBy }>(
    `UPDATE dags d SET paused = $2, paused_by = CASE WHEN $2 THEN 'operator' END, updated_at = now()
     FROM (SELECT dag_id, CASE WHEN paused THEN coalesce(paused_by, 'operator') END AS was FROM dags WHERE dag_id = $1 FOR UPDATE) old
     WHERE d.dag_id = old.dag_id RETURNING old.was`,
    [dagId, paused],
  );
  return rows[0]?.was ?? null;
}
