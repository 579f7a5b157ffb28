/**
 * The warehouse inbox under kill -9 between the two commits, ten times. Two real `trib worker`
 * children consume the queues; each round, the day's load is stopped exactly between the
 * warehouse's COMMIT and the engine's end, from the outside and with nothing in the code under test:
 * the test holds a SHARE lock on the warehouse's inbox table (the load waits at its inbox INSERT,
 * its rows written, nothing committed), then a row lock on the task instance in the engine's
 * database, which the engine's end (trib_end) waits for — and releases the table. Once the inbox
 * row is on the warehouse, the worker that ran the try (its attempt names its pid) is killed with
 * SIGKILL and replaced. The other worker's attempt finds the inbox row and ends the try with the
 * recorded result: every run succeeds, every day is loaded once, with one ledger row per day.
 * A load kept waiting on the warehouse longer than the try's idle limit (TASK_IDLE_TIMEOUT_MS) keeps
 * the try's own session alive: one attempt, no outage.
 */
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { ensureWarehouseTables } from '../../../jobs/load/warehouse-tables.ts';
import { generateCustomerRatings, type W1Truth } from '../../../samples/w1-customer-ratings.ts';
import { cliEnv, spawnTrib } from '../../support/cli.ts';
import { redisUrl } from '../../support/db.ts';
import { dagFolder } from '../../support/dag-folder.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { createWarehouse, dagFileText, loadTask, tempFolder, type Warehouse } from './warehouse-setup.ts';

const ROUNDS = 10;

let t: TestEngine;
let warehouse: Warehouse;
let base: string;
let truth: W1Truth;
let env: NodeJS.ProcessEnv;

type Worker = ReturnType<typeof spawnTrib>;

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startWorker(extra: Record<string, string> = {}): Promise<Worker> {
  const worker = spawnTrib(['worker'], { ...env, ...extra });
  await waitFor(async () => worker.err().includes('worker started'), 'a worker to start');
  return worker;
}

async function stop(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  await worker.exited;
}

beforeAll(async () => {
  warehouse = await createWarehouse();
  base = await tempFolder('conn-inbox');
  const dataDir = path.join(base, 'data');
  truth = await generateCustomerRatings({ dir: dataDir, seed: 5, size: 200, days: ROUNDS, agencies: ['acme'] });
  const load = loadTask(dataDir);
  const days = { id: 'warehouse_inbox', tasks: { load } } as DagSpec;
  const slow = { id: 'warehouse_slow', tasks: { load: { ...load, options: { ...load.options, target: 'ratings_slow' } } } } as DagSpec;
  // This process triggers and sweeps; the workers are `trib worker` children with the same DAG files.
  t = await startTestEngine({ backend: 'redis', dags: [days, slow], workers: false, dataRoots: [base] });
  env = cliEnv({
    DATABASE_URL: t.database.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: t.engine.options.queuePrefix, DATA_ROOTS: base,
    DAGS_DIR: await dagFolder(base, 'dags', { 'warehouse_inbox.ts': dagFileText(days), 'warehouse_slow.ts': dagFileText(slow) }),
    TRIB_CONN_WAREHOUSE: warehouse.url, JOB_LOCK_MS: '2000',
  });
  // The warehouse's tables exist before the first load, made by the load's own helper as the warehouse's role.
  const owner = new pg.Client({ connectionString: warehouse.url });
  await owner.connect();
  await owner.query('BEGIN');
  await ensureWarehouseTables(owner as unknown as pg.PoolClient);
  await owner.query('COMMIT');
  await owner.end();
});

afterAll(async () => {
  await t?.close();
  await warehouse?.drop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

/** Triggers the DAG's run of `date`; its load's task instance id. */
async function trigger(dagId: string, date: string): Promise<{ runId: number; instanceId: number }> {
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get(dagId)!, { date });
  const { rows } = await t.database.pool.query<{ id: number }>(`SELECT id FROM task_instances WHERE run_id = $1 AND task_id = 'load'`, [runId]);
  return { runId, instanceId: rows[0].id };
}

async function runEnded(runId: number): Promise<boolean> {
  await t.engine.dispatcher.sweep(0);
  const { rows } = await t.database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId]);
  return rows[0].state === 'success' || rows[0].state === 'failed';
}

/** Whether a session of database `db` waits for a lock. */
async function someoneWaits(pool: pg.Pool): Promise<boolean> {
  const { rowCount } = await pool.query(
    'SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()');
  return (rowCount ?? 0) > 0;
}

const whCount = async (sql: string, values: unknown[] = []) => Number((await warehouse.database.pool.query(sql, values)).rows[0].n);

describe('kill -9 between the warehouse COMMIT and the engine end', () => {
  it(`×${ROUNDS}: the next attempt finds the inbox row; every run succeeds, each day loaded once, one ledger row each`, { timeout: 300_000 }, async () => {
    const workers = [await startWorker(), await startWorker()];
    const whHolder = await warehouse.database.pool.connect();
    const engineHolder = await t.database.pool.connect();
    let loaded = 0;
    try {
      for (const [round, day] of truth.files.entries()) {
        await whHolder.query('BEGIN');
        await whHolder.query('LOCK TABLE tributary.load_inbox IN SHARE MODE');
        const { runId, instanceId } = await trigger('warehouse_inbox', day.date);
        await waitFor(() => someoneWaits(warehouse.database.pool), `round ${round}: the load to wait at its inbox row`);
        await engineHolder.query('BEGIN');
        await engineHolder.query('SELECT 1 FROM task_instances WHERE id = $1 FOR UPDATE', [instanceId]);
        await whHolder.query('COMMIT');
        // The warehouse COMMIT landed (rows, ledger and inbox row together); the engine's end waits for the row lock.
        await waitFor(async () => (await whCount('SELECT count(*) AS n FROM tributary.load_inbox WHERE task_instance_id = $1', [instanceId])) === 1,
          `round ${round}: the warehouse COMMIT`);
        await waitFor(() => someoneWaits(t.database.pool), `round ${round}: the engine end to wait`);
        const { rows: [attempt] } = await t.database.pool.query<{ worker: string }>(
          'SELECT worker FROM task_attempts WHERE task_instance_id = $1 ORDER BY attempt DESC LIMIT 1', [instanceId]);
        const victim = workers.findIndex((w) => attempt.worker.endsWith(`:${w.child.pid}`));
        expect(victim, `round ${round}: attempt by ${attempt.worker}`).toBeGreaterThanOrEqual(0);
        const exited = once(workers[victim].child, 'exit');
        workers[victim].child.kill('SIGKILL');
        await exited;
        await engineHolder.query('ROLLBACK');
        expect((await t.taskStates(runId)).load, `round ${round}`).toBe('running');
        loaded += day.valid;
        expect(await whCount('SELECT count(*) AS n FROM public.customer_ratings')).toBe(loaded);

        const replacement = startWorker();
        await waitFor(() => runEnded(runId), `round ${round}: the run to end`, 60_000);
        workers[victim] = await replacement;
        expect(await t.taskStates(runId), `round ${round}`).toEqual({ load: 'success' });
        const { rows: [ended] } = await t.database.pool.query('SELECT result, attempt FROM task_instances WHERE id = $1', [instanceId]);
        expect(ended.attempt, `round ${round}`).toBe(2);
        expect(ended.result).toMatchObject({ rows_read: day.rows, rows_loaded: day.valid, rows_rejected: day.rejected });
        expect(await whCount('SELECT count(*) AS n FROM public.customer_ratings')).toBe(loaded);
        expect(await whCount('SELECT count(*) AS n FROM tributary.load_ledger WHERE path LIKE $1', [`%acme_${day.date.replaceAll('-', '')}.csv`])).toBe(1);
        expect(await whCount('SELECT count(*) AS n FROM tributary.load_inbox WHERE task_instance_id = $1', [instanceId])).toBe(1);
        const { rows: logged } = await t.database.pool.query<{ message: string }>('SELECT message FROM task_logs WHERE task_instance_id = $1', [instanceId]);
        expect(logged.map((l) => l.message)).toContain('load: attempt 1 of this try already committed on connection "warehouse"; ending with its result, nothing loaded again');
      }
    } finally {
      await whHolder.query('ROLLBACK').catch(() => undefined);
      whHolder.release();
      await engineHolder.query('ROLLBACK').catch(() => undefined);
      engineHolder.release();
      await Promise.all(workers.map(stop));
    }
    expect(await whCount('SELECT count(*) AS n FROM public.customer_ratings')).toBe(truth.totals.valid);
    expect(await whCount('SELECT count(*) AS n FROM audit.customer_ratings_rejects')).toBe(truth.totals.rejected);
    expect(await whCount('SELECT count(*) AS n FROM tributary.load_ledger')).toBe(ROUNDS);
  });

  it('a load waiting on the warehouse past the idle limit keeps the try\'s session: one attempt, no outage', { timeout: 60_000 }, async () => {
    const whHolder = await warehouse.database.pool.connect();
    const worker = await startWorker({ TASK_IDLE_TIMEOUT_MS: '1500' });
    let runId = 0;
    let instanceId = 0;
    try {
      await whHolder.query('BEGIN');
      await whHolder.query('LOCK TABLE tributary.load_inbox IN SHARE MODE');
      ({ runId, instanceId } = await trigger('warehouse_slow', truth.files[0].date));
      await waitFor(() => someoneWaits(warehouse.database.pool), 'the load to wait at its inbox row');
      await new Promise((r) => setTimeout(r, 4500)); // three idle limits
      await whHolder.query('COMMIT');
      await waitFor(() => runEnded(runId), 'the run to end');
    } finally {
      await whHolder.query('ROLLBACK').catch(() => undefined);
      whHolder.release();
      await stop(worker);
    }
    const { rows: attempts } = await t.database.pool.query('SELECT state FROM task_attempts WHERE task_instance_id = $1 ORDER BY attempt', [instanceId]);
    expect(attempts).toEqual([{ state: 'success' }]);
    expect(await whCount('SELECT count(*) AS n FROM public.ratings_slow')).toBe(truth.files[0].valid);
  });
});
