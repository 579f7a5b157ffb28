/**
 * `tributary/client`: the operator's operations for scripts — trigger, list runs, wait for a run,
 * clear a run or its tasks, mark tasks — the same functions the `trib` CLI calls (engine/operations.ts,
 * dashboard/queries.ts), on the DAGs of DAGS_DIR and the database of DATABASE_URL.
 */
import { getRun, listRuns, runDetail, type RunDetail, type RunRow } from './dashboard/queries.ts';
import { loadConfig } from './engine/config.ts';
import { TributaryError } from './engine/errors.ts';
import { clearRun, clearTasks, markTask, triggerRun, type MarkResult, type TriggerResult } from './engine/operations.ts';
import type { Json } from './engine/types.ts';
import { requireDatabaseUrl } from './cli/find-database.ts';
import { commandLogger, createEngine, loadDagsFrom } from './cli/runtime.ts';
import { waitForRun } from './workers/demo.ts';

export type { MarkResult, RunDetail, RunRow, TriggerResult };

export interface Client {
  /**
   * Triggers a run with validated params: without `date` a new manual run now; with `date`
   * (YYYY-MM-DD) the run of that day — when it exists with the same params nothing changes
   * (`created` false), with other params RUN_EXISTS. `started` false: `waitReason` says why it waits.
   */
  trigger(dag: string, options?: { date?: string; params?: Record<string, Json> }): Promise<TriggerResult>;
  /** The newest runs of a DAG. @default limit 20 */
  runs(dag: string, options?: { limit?: number }): Promise<RunRow[]>;
  /** One run with its task instances. */
  run(runId: number): Promise<RunDetail>;
  /** Resolves with the run's end state; WAIT_TIMEOUT after `timeoutMs`. @default timeoutMs 3600000 */
  waitForRun(runId: number, options?: { timeoutMs?: number }): Promise<'success' | 'failed'>;
  /** Clears every task of a run so it runs again whole, with its own params; returns the cleared task ids. */
  clearRun(runId: number): Promise<string[]>;
  /** Clears a task (and with `downstream` everything after it) so it runs again; returns the cleared task ids. */
  clear(runId: number, taskId: string, options?: { downstream?: boolean }): Promise<string[]>;
  /**
   * Sets a task's state by hand — with `mapIndex` one child of a mapped task, else the task and all
   * its children; a try it interrupts ends 'interrupted' and commits nothing.
   */
  mark(runId: number, taskId: string, state: 'success' | 'failed', options?: { mapIndex?: number }): Promise<MarkResult>;
  close(): Promise<void>;
}

/** Connects with the configuration in `env` (DATABASE_URL, REDIS_URL/QUEUE_BACKEND, DAGS_DIR, …). */
export async function connect(env: Record<string, string | undefined> = process.env): Promise<Client> {
  const config = loadConfig(env);
  const databaseUrl = requireDatabaseUrl(config);
  const dags = await loadDagsFrom(config);
  const engine = createEngine(config, databaseUrl, dags, commandLogger(config, false));
  const dagOfRun = async (runId: number) => engine.dag((await getRun(engine.pool, runId)).dagId);
  let registered = false;
  return {
    async trigger(dagId, options = {}) {
      const dag = engine.dag(dagId);
      if (!registered) await engine.register();
      registered = true;
      return triggerRun(engine.pool, engine.dispatcher, dag, { date: options.date, params: options.params });
    },
    async runs(dagId, options = {}) {
      engine.dag(dagId);
      return listRuns(engine.pool, dagId, options.limit ?? 20);
    },
    run: (runId) => runDetail(engine.pool, runId, engine.dags),
    async waitForRun(runId, options = {}) {
      const timeoutMs = options.timeoutMs ?? 3_600_000;
      const signal = AbortSignal.timeout(timeoutMs);
      const state = await waitForRun(engine.pool, runId, signal).catch((err: unknown) => {
        if (!signal.aborted) throw err;
        throw new TributaryError('WAIT_TIMEOUT', `run ${runId} did not end within ${timeoutMs} ms`);
      });
      return state as 'success' | 'failed';
    },
    clearRun: async (runId) => clearRun(engine.pool, engine.dispatcher, await dagOfRun(runId), runId),
    clear: async (runId, taskId, options = {}) => clearTasks(engine.pool, engine.dispatcher, await dagOfRun(runId), runId, taskId, options.downstream ?? false),
    mark: async (runId, taskId, state, options = {}) =>
      markTask(engine.pool, engine.dispatcher, await dagOfRun(runId), runId, taskId, state, options.mapIndex),
    close: () => engine.close(),
  };
}
