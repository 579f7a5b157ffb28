/**
 * Operator actions of the UI and the API, each validated once by its zod schema (the same schemas
 * make /api/openapi.json), then done by engine/operations.ts: trigger, clear ± downstream, mark,
 * pause/unpause, backfill (planned first), bulk clear of the failed tasks of chosen runs.
 */
import { z } from 'zod';
import type { Engine } from '../engine/engine.ts';
import { TributaryError } from '../engine/errors.ts';
import { backfill, clearTasks, markTask, planBackfill, triggerRun, type MarkResult, type TriggerResult } from '../engine/operations.ts';
import { setPaused } from '../engine/runs.ts';
import type { CompiledDag } from '../engine/types.ts';

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day YYYY-MM-DD');

export const TriggerBody = z.object({
  /** Logical date (a day). @default none: a new manual run now */
  date: Day.optional(),
  /** Run params, over the DAG's defaults. @default {} */
  params: z.record(z.string(), z.json()).default({}),
}).strict();

export const ClearBody = z.object({
  /** Clear every task after it too. @default false */
  downstream: z.boolean().default(false),
}).strict();

export const MarkBody = z.object({
  state: z.enum(['success', 'failed']),
  /** Only this child of a mapped task. @default the task and, when mapped, every child */
  mapIndex: z.number().int().min(0).optional(),
}).strict();

export const BackfillBody = z.object({
  from: Day,
  to: Day,
  /** Create more than BACKFILL_MAX_RUNS runs. @default false */
  confirmed: z.boolean().default(false),
}).strict();

export const ClearFailedBody = z.object({ runIds: z.array(z.number().int().positive()).min(1).max(500) }).strict();

/** Validates `raw` against `schema`; a failure is ARGUMENT_INVALID naming each bad field. */
export function parseBody<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  throw new TributaryError('ARGUMENT_INVALID', `${what}: ${issues}`);
}

/** `by`: who asked (the request's user), kept with a run it creates. */
export function trigger(engine: Engine, dag: CompiledDag, body: z.output<typeof TriggerBody>, by?: string): Promise<TriggerResult> {
  return triggerRun(engine.pool, engine.dispatcher, dag, { date: body.date, params: body.params, triggeredBy: by });
}

/** The DAG of a run (RUN_NOT_FOUND when there is none). */
export async function dagOfRun(engine: Engine, runId: number): Promise<CompiledDag> {
  const { rows } = await engine.pool.query<{ dag_id: string }>('SELECT dag_id FROM dag_runs WHERE id = $1', [runId]);
  if (!rows[0]) throw new TributaryError('RUN_NOT_FOUND', `run ${runId} does not exist`);
  return engine.dag(rows[0].dag_id);
}

export async function clear(engine: Engine, runId: number, taskId: string, body: z.output<typeof ClearBody>): Promise<string[]> {
  return clearTasks(engine.pool, engine.dispatcher, await dagOfRun(engine, runId), runId, taskId, body.downstream);
}

export async function mark(engine: Engine, runId: number, taskId: string, body: z.output<typeof MarkBody>): Promise<MarkResult> {
  return markTask(engine.pool, engine.dispatcher, await dagOfRun(engine, runId), runId, taskId, body.state, body.mapIndex);
}

export async function pause(engine: Engine, dag: CompiledDag, paused: boolean): Promise<void> {
  await setPaused(engine.pool, dag.id, paused);
  // Unpausing starts runs that waited while paused.
  if (!paused) await engine.dispatcher.startWaitingRuns();
}

export function planDates(dag: CompiledDag, body: z.output<typeof BackfillBody>, maxRuns: number): Date[] {
  return planBackfill(dag, body.from, body.to, { maxRuns, confirmed: body.confirmed });
}

export async function backfillRuns(
  engine: Engine, dag: CompiledDag, body: z.output<typeof BackfillBody>, maxRuns: number, by?: string,
): Promise<{ runs: number; created: number }> {
  const results = await backfill(engine.pool, engine.dispatcher, dag, planDates(dag, body, maxRuns), undefined, by);
  return { runs: results.length, created: results.filter((r) => r.created).length };
}

/**
 * Clears, in each chosen run of `dag`, every failed task with what follows it (so the tasks it
 * left upstream_failed run again); a task already cleared as another's downstream is not cleared twice.
 */
export async function clearFailed(engine: Engine, dag: CompiledDag, body: z.output<typeof ClearFailedBody>): Promise<Array<{ runId: number; cleared: string[] }>> {
  const { rows } = await engine.pool.query<{ runId: string; taskId: string }>(
    `SELECT ti.run_id AS "runId", ti.task_id AS "taskId" FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
     WHERE ti.run_id = ANY($1::bigint[]) AND r.dag_id = $2 AND ti.map_index = -1 AND ti.state = 'failed'`,
    [body.runIds, dag.id],
  );
  const out: Array<{ runId: number; cleared: string[] }> = [];
  for (const runId of body.runIds) {
    const failed = new Set(rows.filter((r) => Number(r.runId) === runId).map((r) => r.taskId));
    const cleared = new Set<string>();
    for (const taskId of dag.order.filter((id) => failed.has(id) && !cleared.has(id))) {
      for (const id of await clearTasks(engine.pool, engine.dispatcher, dag, runId, taskId, true)) cleared.add(id);
    }
    out.push({ runId, cleared: [...cleared] });
  }
  return out;
}
