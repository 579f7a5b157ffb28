/**
 * Scenario steps shared by the chaos tests (bounded) and `npm run bench:chaos` (at scale): each
 * returns what it measured — counted with SQL of its own against the planted truth — and leaves
 * the asserting to the caller.
 */
import type { ChildProcess } from 'node:child_process';
import { triggerRun } from '../../engine/operations.ts';
import type { Cluster } from './harness.ts';
import { waitFor } from './harness.ts';
import type { ItemsTruth } from './items-file.ts';

export async function waitForRunState(c: Cluster, runId: number, timeoutMs: number): Promise<string> {
  let state = '';
  await waitFor(async () => {
    state = (await c.database.pool.query('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state;
    return state === 'success' || state === 'failed';
  }, timeoutMs, `run ${runId} to end`);
  return state;
}

export async function waitForTaskRunning(c: Cluster, runId: number, taskId: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await c.database.pool.query(
    `SELECT 1 FROM task_instances WHERE run_id = $1 AND task_id = $2 AND state = 'running'`, [runId, taskId])).rowCount === 1,
  timeoutMs, `${taskId} of run ${runId} to run`);
}

/** Kills a worker with SIGKILL, waits for its exit, and starts its replacement. */
export async function killAndReplace(c: Cluster, worker: ChildProcess, env?: Record<string, string>): Promise<ChildProcess> {
  const gone = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGKILL');
  await gone;
  return c.spawnWorker(env);
}

export interface LoadAccount {
  rows: number;
  distinct: number;
  qtySum: number;
  rejects: number;
  coercions: number;
  ledger: number;
  tryNumber: number;
  attempts: Array<{ state: string; worker: string; ms: number }>;
}

/** What the chaos load of `runId` left: table, audit, coercion and ledger rows, tries and attempts. */
export async function accountLoad(c: Cluster, runId: number): Promise<LoadAccount> {
  const q = async (sql: string, values: unknown[] = [runId]) => (await c.database.pool.query(sql, values)).rows;
  const [table] = await q('SELECT count(*)::int AS n, count(DISTINCT item_id)::int AS d, coalesce(sum(qty), 0)::float8 AS s FROM chaos_items', []);
  const [rejects] = await q('SELECT count(*)::int AS n FROM audit.chaos_items_rejects WHERE run_id = $1');
  const [coercions] = await q('SELECT count(*)::int AS n FROM audit.chaos_items_coercions WHERE run_id = $1');
  const [ledger] = await q('SELECT count(*)::int AS n FROM load_ledger WHERE run_id = $1');
  const [task] = await q(`SELECT try_number FROM task_instances WHERE run_id = $1 AND task_id = 'load'`);
  const attempts = await q(
    `SELECT a.state, a.worker, (extract(epoch FROM a.ended_at - a.started_at) * 1000)::float8 AS ms
     FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 ORDER BY a.attempt`);
  return {
    rows: table.n, distinct: table.d, qtySum: table.s, rejects: rejects.n, coercions: coercions.n, ledger: ledger.n,
    tryNumber: task.try_number, attempts: attempts as LoadAccount['attempts'],
  };
}

/** The account a correct load of `truth` into a just-truncated table leaves. */
export function expectedAccount(truth: ItemsTruth) {
  return { rows: truth.valid, distinct: truth.valid, qtySum: truth.qtySum, rejects: truth.invalid, coercions: truth.trimmed, ledger: 1, tryNumber: 1 };
}

/**
 * Runs the `chain` DAG and applies `outage` while its first task runs; returns the run's end, the
 * effect rows per task (each must be 1) and the attempts of the first task.
 */
export async function chainThroughOutage(c: Cluster, day: string, outage: () => Promise<void>, timeoutMs = 90_000) {
  const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chain')!, { date: day });
  await waitForTaskRunning(c, runId, 'a');
  await new Promise((r) => setTimeout(r, 500));
  await outage();
  const state = await waitForRunState(c, runId, timeoutMs);
  const q = async (sql: string) => (await c.database.pool.query(sql, [runId])).rows;
  const tries = await q('SELECT task_id, try_number FROM task_instances WHERE run_id = $1 ORDER BY task_id');
  const effects = await q('SELECT task_id, count(*)::int AS n FROM chaos_effects WHERE run_id = $1 GROUP BY 1 ORDER BY 1');
  const attempts = await q(`SELECT a.state, a.error_code FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
    WHERE ti.run_id = $1 AND ti.task_id = 'a' ORDER BY a.attempt`);
  return {
    runId,
    state,
    tries: tries.map((t) => [t.task_id as string, t.try_number as number]),
    effects: effects.map((e) => [e.task_id as string, e.n as number]),
    attempts: attempts as Array<{ state: string; error_code: string | null }>,
  };
}
