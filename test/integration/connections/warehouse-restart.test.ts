/**
 * The warehouse server restarted under a load (issue 21): the warehouse is a second Postgres server
 * of its own. The test holds a SHARE lock on the warehouse's inbox table, so the day's load waits at
 * its inbox INSERT with its rows written and nothing committed; then the server is stopped (fast
 * shutdown: every session ended, the load's transaction and the test's lock with it), stays down a
 * moment and starts again on the same data folder and port. The load's lost connection is an outage
 * (DATABASE_UNAVAILABLE), retried by the engine on the same try without using the task's retries;
 * the next attempt finds no inbox row and loads: the try ends success, the day's rows are on the
 * warehouse once, with one ledger row and one inbox row (the attempt that committed).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../db/embedded.ts';
import { closeConnections } from '../../../engine/connections.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { ensureWarehouseTables } from '../../../jobs/load/warehouse-tables.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { dayFile, loadTask, tempFolder, type DayFile } from './warehouse-setup.ts';

let t: TestEngine;
let base: string;
let day: DayFile;
let server: EmbeddedServer;
let pool: pg.Pool;

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const startWarehouse = (port?: number) => startEmbeddedPostgres({ dataDir: path.join(base, 'warehouse'), port, persistent: true });

beforeAll(async () => {
  base = await tempFolder('tributary-wh-restart');
  day = await dayFile(path.join(base, 'data'), 2_000);
  server = await startWarehouse();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE warehouse');
  await admin.end();
  const url = new URL(server.url);
  url.pathname = '/warehouse';
  pool = new pg.Pool({ connectionString: url.href, max: 2 });
  pool.on('error', () => undefined); // its idle clients die with the restart
  // The inbox table exists before the load, so the test can lock it.
  const owner = await pool.connect();
  await owner.query('BEGIN');
  await ensureWarehouseTables(owner);
  await owner.query('COMMIT');
  owner.release();
  vi.stubEnv('TRIB_CONN_WAREHOUSE', url.href); // this process's workers run the load
  const dag = { id: 'warehouse_restart', tasks: { load: loadTask(path.join(base, 'data')) } } as DagSpec;
  t = await startTestEngine({ backend: 'redis', dags: [dag], dataRoots: [base] });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await closeConnections();
  vi.unstubAllEnvs();
  await pool?.end();
  await server?.stop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

const count = async (sql: string) => Number((await pool.query(sql)).rows[0].n);

describe('the warehouse server restarted mid-load', () => {
  it('is an outage the engine retries on the same try: success, the day loaded once', { timeout: 90_000 }, async () => {
    const holder = await pool.connect();
    holder.on('error', () => undefined); // ended by the server's shutdown
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE tributary.load_inbox IN SHARE MODE');
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('warehouse_restart')!, { date: '2025-05-13' });
    await waitFor(async () => (await pool.query('SELECT 1 FROM pg_locks WHERE NOT granted')).rowCount! > 0, 'the load to wait at its inbox row');

    await server.stop();
    holder.release(true);
    await new Promise((r) => setTimeout(r, 1_000)); // down a moment: an attempt meanwhile cannot connect
    server = await startWarehouse(server.port);

    expect(await t.waitForRun(runId, 60_000)).toBe('success');
    const { rows: [load] } = await t.database.pool.query(
      `SELECT id, try_number, infra_retries, result FROM task_instances WHERE run_id = $1 AND task_id = 'load'`, [runId]);
    expect(load.try_number).toBe(1); // the task's own retries untouched
    expect(load.infra_retries).toBeGreaterThanOrEqual(1);
    const { rows: attempts } = await t.database.pool.query<{ state: string; error_code: string | null }>(
      'SELECT state, error_code FROM task_attempts WHERE task_instance_id = $1 ORDER BY attempt', [load.id]);
    expect(attempts.at(-1)).toEqual({ state: 'success', error_code: null });
    expect(attempts.slice(0, -1).length).toBeGreaterThanOrEqual(1);
    for (const a of attempts.slice(0, -1)) expect(a).toEqual({ state: 'infra_error', error_code: 'DATABASE_UNAVAILABLE' });
    expect(load.result).toMatchObject({ rows_loaded: day.valid, rows_rejected: day.rejected });

    expect(await count('SELECT count(*) AS n FROM public.customer_ratings')).toBe(day.valid);
    expect(await count('SELECT sum(customer_rating) AS n FROM public.customer_ratings')).toBe(day.ratingSum);
    expect(await count('SELECT count(*) AS n FROM audit.customer_ratings_rejects')).toBe(day.rejected);
    expect(await count('SELECT count(*) AS n FROM tributary.load_ledger')).toBe(1);
    const { rows: inbox } = await pool.query('SELECT task_instance_id::int AS id, try_number, attempt FROM tributary.load_inbox');
    expect(inbox).toEqual([{ id: load.id, try_number: 1, attempt: attempts.length }]);
  });
});
