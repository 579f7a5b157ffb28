/**
 * The retry after a kill (issue 22), shared by its bounded test and `npm run bench:retry`: a
 * coercion-heavy items file loaded by the chaos load DAG (insert-new in segments, a trim on every
 * valid row) into a just-truncated table, once clean, then with its worker killed -9 at a given
 * moment. After the kill the target and its coercion table are ANALYZEd, as autovacuum does after
 * the killed attempt's dead rows (autovacuum itself is off on both, so no VACUUM undoes it): both
 * then read as empty (reltuples 0, relpages > 0) while the retry loads. Returns what it measured.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { triggerRun } from '../../engine/operations.ts';
import type { Cluster } from './harness.ts';
import { writeItemsFile } from './items-file.ts';
import { accountLoad, expectedAccount, killAndReplace, waitForRunState, waitForTaskRunning, type LoadAccount } from './scenarios.ts';

const TABLES = ['public.chaos_items', 'audit.chaos_items_coercions'];

export interface RetryLoad {
  state: string;
  account: LoadAccount;
  /** What a correct load of the day's file leaves (the generator's truth). */
  want: ReturnType<typeof expectedAccount>;
  /** The last attempt's duration. */
  lastMs: number;
}

/**
 * Loads day `day` (`rows + day` lines, every valid label padded) into the emptied table; `during`
 * runs once the load is running. The first call creates the tables and turns autovacuum off on them.
 */
export async function loadDay(
  c: Cluster, dir: string, rows: number, day: number, during: (runId: number) => Promise<void> = async () => undefined,
  timeoutMs = 600_000,
): Promise<RetryLoad> {
  const file = path.join(dir, `coerced_${day}.csv`);
  const truth = await writeItemsFile(file, rows + day, 97, 1);
  const exists = (await c.database.pool.query('SELECT to_regclass($1) IS NOT NULL AS ok', [TABLES[1]])).rows[0].ok as boolean;
  if (exists) await c.database.pool.query(`TRUNCATE ${TABLES.join(', ')}`);
  const dag = c.engine.dags.get('chaos_load')!;
  const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, dag, { date: dayString(day), params: { file } });
  await waitForTaskRunning(c, runId, 'load', 60_000);
  await during(runId);
  const state = await waitForRunState(c, runId, timeoutMs);
  if (!exists) for (const t of TABLES) await c.database.pool.query(`ALTER TABLE ${t} SET (autovacuum_enabled = off)`);
  const account = await accountLoad(c, runId);
  return { state, account, want: expectedAccount(truth), lastMs: account.attempts.at(-1)?.ms ?? Number.NaN };
}

const dayString = (day: number) => new Date(Date.UTC(2025, 8, 1) + day * 86_400_000).toISOString().slice(0, 10);

/** Kills `worker` `afterMs` into the running load, starts its replacement, and ANALYZEs the two tables. */
export async function killThenAnalyze(c: Cluster, worker: ChildProcess, afterMs: number, env?: Record<string, string>): Promise<ChildProcess> {
  await new Promise((r) => setTimeout(r, afterMs));
  const next = await killAndReplace(c, worker, env);
  await c.database.pool.query(`ANALYZE ${TABLES.join(', ')}`);
  return next;
}
