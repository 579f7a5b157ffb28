/**
 * `trib run-task`: runs ONE task in this process now, like `airflow tasks test`. Creates (or reuses)
 * the run of that day and calls the task's handler with its upstream results, all in one
 * transaction: the run and the handler's writes commit together, or nothing stays if it throws.
 * Task state and the queues are not touched.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Logger } from 'pino';
import { AfterCommit } from '../engine/after-commit.ts';
import type { Engine } from '../engine/engine.ts';
import { TributaryError } from '../engine/errors.ts';
import { createRun } from '../engine/runs.ts';
import { taskParams } from '../engine/secret-params.ts';
import { intervalFor, logicalDateFor } from '../engine/schedule.ts';
import { loadUpstreamResults } from '../engine/task-store.ts';
import type { CompiledDag, HandlerOutcome, Json, TaskContext } from '../engine/types.ts';

export interface RunTaskResult {
  runId: number;
  created: boolean;
  logicalDate: Date;
  outcome: HandlerOutcome;
  durationMs: number;
}

export async function runTaskNow(
  engine: Engine,
  dag: CompiledDag,
  taskId: string,
  day: string,
  options: { mapItem?: Json; log: Logger },
): Promise<RunTaskResult> {
  const task = dag.tasks.get(taskId);
  if (!task) throw new TributaryError('TASK_NOT_FOUND', `dag "${dag.id}" has no task "${taskId}" (tasks: ${dag.order.join(', ')})`);
  const kind = engine.options.kinds.get(task.kind);
  if (!kind) throw new TributaryError('JOB_KIND_UNKNOWN', `task "${taskId}" of dag "${dag.id}" uses unknown kind "${task.kind}"`);
  if (task.mapOver && options.mapItem === undefined) {
    throw new TributaryError('ARGUMENT_INVALID', `task "${taskId}" is mapped over "${task.mapOver.task}": pass --map-item <json>`);
  }
  const logicalDate = logicalDateFor(dag.schedule, day);
  const dataInterval = intervalFor(dag.schedule, logicalDate);
  await engine.register();

  const client = await engine.pool.connect();
  const controller = new AbortController();
  const dataRoots = [...engine.dataRoots, ...dag.dataRoots];
  // The task instance's state is not touched: its file effects are recorded without an owner.
  const effects = new AfterCommit(client, { taskInstanceId: null, tryNumber: 1, dataRoots });
  try {
    await client.query('BEGIN');
    const { runId, created } = await createRun(client, dag, {
      logicalDate, intervalEnd: dataInterval.end, runType: 'manual',
    });
    const { rows } = await client.query<{ params: Record<string, Json> }>('SELECT params FROM dag_runs WHERE id = $1', [runId]);
    const ctx: TaskContext = {
      dagId: dag.id,
      runId: String(runId),
      taskId,
      mapIndex: task.mapOver ? 0 : -1,
      mapItem: options.mapItem,
      tryNumber: 1,
      logicalDate,
      dataInterval,
      params: taskParams(dag, rows[0].params, options.log),
      upstream: await loadUpstreamResults(client, runId, task.upstream),
      dataRoots,
      log: options.log.child({ dag_id: dag.id, run_id: runId, task_id: taskId, try: 1, run_task: true }),
      client,
      db: drizzle(client),
      signal: controller.signal,
      ...effects.context(),
    };
    const started = Date.now();
    let outcome: HandlerOutcome;
    try {
      outcome = await kind.handler(ctx, task.options);
    } catch (err) {
      const keep = err instanceof TributaryError && err.details?.keepWrites === true;
      await client.query(keep ? 'COMMIT' : 'ROLLBACK');
      await (keep ? effects.committed(engine.pool, ctx.log) : effects.rolledBack(ctx.log));
      throw err;
    }
    await client.query('COMMIT');
    await effects.committed(engine.pool, ctx.log);
    return { runId, created, logicalDate, outcome, durationMs: Date.now() - started };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    controller.abort();
    client.release();
  }
}
