/**
 * Retention reaches the warehouse: three days loaded into a warehouse connection by in-process
 * workers, then `cleanRuns` (what `trib db clean` and RETENTION_DAYS run) deletes the two older runs
 * and, on the warehouse, their inbox rows and refused rows — counted as `warehouse:<table>`, the
 * dry run counting the same — while the latest run's rows, the ledger (it dedupes files) and
 * another engine's rows that share a run id stay. A warehouse that cannot be reached stops the
 * clean before any engine row goes. An engine on another schema (`trib dags test` runs on
 * `tributary_test`) keeps its ledger and inbox in that schema on the warehouse too: its load of a
 * file the real runs loaded loads it (as a test run does with the user's tables), and marks nothing
 * loaded for the real runs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeConnections } from '../../../engine/connections.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { cleanRuns } from '../../../engine/retention.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { generateCustomerRatings, type W1Truth } from '../../../samples/w1-customer-ratings.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { createWarehouse, loadTask, tempFolder, type Warehouse } from './warehouse-setup.ts';

const DAYS = 3;

let t: TestEngine;
let warehouse: Warehouse;
let base: string;
let truth: W1Truth;
let dag: DagSpec;
const runIds: number[] = [];

beforeAll(async () => {
  warehouse = await createWarehouse();
  base = await tempFolder('conn-retention');
  truth = await generateCustomerRatings({ dir: path.join(base, 'data'), seed: 8, size: 120, days: DAYS, agencies: ['acme'] });
  vi.stubEnv('TRIB_CONN_WAREHOUSE', warehouse.url);
  dag = { id: 'warehouse_days', tasks: { load: loadTask(path.join(base, 'data')) } } as DagSpec;
  t = await startTestEngine({ backend: 'redis', dags: [dag], dataRoots: [base] });
  for (const file of truth.files) {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('warehouse_days')!, { date: file.date });
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
    runIds.push(runId);
  }
}, 120_000);

afterAll(async () => {
  await t?.close();
  await closeConnections();
  vi.unstubAllEnvs();
  await warehouse?.drop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

const wh = async (sql: string, values: unknown[] = []) => Number((await warehouse.database.pool.query(sql, values)).rows[0].n);
const rejectsOf = (runId: number) => wh('SELECT count(*) AS n FROM audit.customer_ratings_rejects WHERE run_id = $1', [String(runId)]);

describe('retention on a warehouse connection', () => {
  it('deletes the old runs\' inbox and refused rows there, keeps the latest run\'s, the ledger and another engine\'s', { timeout: 60_000 }, async () => {
    const [first, second, latest] = runIds;
    expect(truth.files.every((f) => f.rejected > 0)).toBe(true);
    for (const [i, runId] of runIds.entries()) expect(await rejectsOf(runId)).toBe(truth.files[i].rejected);
    // Another engine loading into this warehouse: its run has the same id as ours, another creation time.
    await warehouse.database.pool.query(
      `INSERT INTO tributary.load_inbox (run_created_us, task_instance_id, try_number, attempt, dag_id, run_id, task_id, map_index, result)
       VALUES (42, 1, 1, 1, 'other', $1, 'load', -1, '{}')`, [String(first)]);
    await warehouse.database.pool.query(
      `INSERT INTO audit.customer_ratings_rejects (run_id, task_id, map_index, file, line, raw, errors, reason)
       SELECT run_id, 'other_load', map_index, file, line, raw, errors, reason FROM audit.customer_ratings_rejects WHERE run_id = $1 LIMIT 1`, [String(first)]);
    const before = new Date(Date.now() + 1000);
    const expected = truth.files[0].rejected + truth.files[1].rejected;

    const dry = await cleanRuns(t.engine.pool, { before, dryRun: true });
    expect(dry.deleted.get('warehouse:audit.customer_ratings_rejects')).toBe(expected);
    expect(dry.deleted.get('warehouse:tributary.load_inbox')).toBe(2);
    expect(await wh('SELECT count(*) AS n FROM tributary.load_inbox')).toBe(DAYS + 1);

    const done = await cleanRuns(t.engine.pool, { before });
    expect(done.kept).toBe(1);
    expect(done.deleted.get('dag_runs')).toBe(2);
    expect(done.deleted.get('warehouse:audit.customer_ratings_rejects')).toBe(expected);
    expect(done.deleted.get('warehouse:tributary.load_inbox')).toBe(2);
    expect([await rejectsOf(first), await rejectsOf(second), await rejectsOf(latest)]).toEqual([1, 0, truth.files[2].rejected]);
    expect(await wh(`SELECT count(*) AS n FROM audit.customer_ratings_rejects WHERE task_id = 'other_load'`)).toBe(1);
    const { rows: inbox } = await warehouse.database.pool.query('SELECT run_id, dag_id FROM tributary.load_inbox ORDER BY dag_id');
    expect(inbox).toEqual([{ run_id: String(first), dag_id: 'other' }, { run_id: String(latest), dag_id: 'warehouse_days' }]);
    expect(await wh('SELECT count(*) AS n FROM tributary.load_ledger')).toBe(DAYS);
    expect(await wh('SELECT count(*) AS n FROM public.customer_ratings')).toBe(truth.totals.valid);
  });

  it('a warehouse that cannot be reached stops the clean before any engine row goes', { timeout: 30_000 }, async () => {
    await closeConnections();
    const unreachable = new URL(warehouse.url);
    unreachable.port = '1';
    vi.stubEnv('TRIB_CONN_WAREHOUSE', unreachable.href);
    // An older ended run of the DAG: eligible (the latest run stays).
    const { rows: [old] } = await t.database.pool.query<{ id: number }>(
      `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type, ended_at)
       SELECT dag_id, '2020-01-01', '2020-01-02', 'success', run_type, now() - interval '1 day' FROM dag_runs LIMIT 1 RETURNING id`);
    const latestBefore = await t.database.pool.query('SELECT count(*)::int AS n FROM dag_runs');
    const failed = await cleanRuns(t.engine.pool, { before: new Date(Date.now() + 1000) }).then(() => null, (err: Error & { code?: string }) => err);
    expect(failed?.code).toBe('DATABASE_UNAVAILABLE');
    expect(failed?.message).toMatch(/^retention on connection "warehouse" \(postgres:\/\/[^:]+:•+@127\.0\.0\.1:1\//);
    expect(failed?.message).not.toContain(warehouse.secret);
    const after = await t.database.pool.query('SELECT count(*)::int AS n FROM dag_runs WHERE id = $1', [old.id]);
    expect(after.rows[0].n).toBe(1);
    expect((await t.database.pool.query('SELECT count(*)::int AS n FROM dag_runs')).rows[0].n).toBe(latestBefore.rows[0].n);
  });

  it('an engine on another schema (as `trib dags test`) keeps its ledger and inbox in that schema on the warehouse', { timeout: 60_000 }, async () => {
    await closeConnections();
    vi.stubEnv('TRIB_CONN_WAREHOUSE', warehouse.url);
    const tested = await startTestEngine({ backend: 'redis', dags: [dag], dataRoots: [base], schema: 'tributary_test' });
    try {
      const day = truth.files[0];
      const { runId } = await triggerRun(tested.engine.pool, tested.engine.dispatcher, tested.dags.get('warehouse_days')!, { date: day.date });
      expect(await tested.waitForRun(runId, 60_000)).toBe('success');
      const { rows: [load] } = await tested.database.pool.query(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'load'`, [runId]);
      expect(load.result).toMatchObject({ rows_loaded: day.valid, rows_rejected: day.rejected });
      expect(await wh('SELECT count(*) AS n FROM tributary_test.load_ledger')).toBe(1);
      expect(await wh('SELECT count(*) AS n FROM tributary_test.load_inbox')).toBe(1);
      expect(await wh('SELECT count(*) AS n FROM tributary.load_ledger')).toBe(DAYS);
    } finally {
      await tested.close();
    }
  });
});
