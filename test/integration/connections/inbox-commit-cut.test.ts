/**
 * The warehouse COMMIT whose answer never comes back: the warehouse connection goes through a proxy
 * that cuts it at the load's COMMIT (test/support/pg-cut-proxy.ts) — `landed` (the server committed,
 * the worker never hears it) or `lost` (the server rolled back). Either way the attempt ends as an
 * outage (DATABASE_UNAVAILABLE), retried by the engine on the same try, and the run succeeds with the
 * day loaded once: the retry finds the inbox row of the landed COMMIT, or loads what the lost one
 * did not.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { PgCutProxy } from '../../support/pg-cut-proxy.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { createWarehouse, dayFile, loadTask, tempFolder, type DayFile, type Warehouse } from './warehouse-setup.ts';

let t: TestEngine;
let warehouse: Warehouse;
let proxy: PgCutProxy;
let base: string;
let day: DayFile;

function dag(mode: 'landed' | 'lost'): DagSpec {
  const load = loadTask(path.join(base, 'data'));
  return { id: `cut_${mode}`, tasks: { load: { ...load, options: { ...load.options, target: `ratings_${mode}` } } } } as DagSpec;
}

beforeAll(async () => {
  warehouse = await createWarehouse();
  proxy = await PgCutProxy.start(warehouse.url);
  base = await tempFolder('conn-cut');
  day = await dayFile(path.join(base, 'data'));
  process.env.TRIB_CONN_WAREHOUSE = proxy.url;
  t = await startTestEngine({ backend: 'redis', dags: [dag('landed'), dag('lost')], dataRoots: [base] });
});

afterAll(async () => {
  await t?.close();
  delete process.env.TRIB_CONN_WAREHOUSE;
  await proxy?.close();
  await warehouse?.drop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

const count = async (sql: string) => Number((await warehouse.database.pool.query(sql)).rows[0].n);

describe.each(['landed', 'lost'] as const)('the warehouse COMMIT cut (%s)', (mode) => {
  it('is an outage retried on the same try; the day is loaded once', { timeout: 60_000 }, async () => {
    const cut = proxy.arm('load_inbox', mode);
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get(`cut_${mode}`)!, { date: '2025-05-13' });
    await cut;
    expect(await t.waitForRun(runId, 45_000)).toBe('success');
    const { rows: [load] } = await t.database.pool.query(
      `SELECT id, try_number, attempt, result FROM task_instances WHERE run_id = $1 AND task_id = 'load'`, [runId]);
    expect({ try: load.try_number, attempt: load.attempt }).toEqual({ try: 1, attempt: 2 });
    expect(load.result).toMatchObject({ rows_loaded: day.valid, rows_rejected: day.rejected });
    const { rows: attempts } = await t.database.pool.query(
      'SELECT state, error_code FROM task_attempts WHERE task_instance_id = $1 ORDER BY attempt', [load.id]);
    expect(attempts).toEqual([{ state: 'infra_error', error_code: 'DATABASE_UNAVAILABLE' }, { state: 'success', error_code: null }]);
    expect(await count(`SELECT count(*) AS n FROM public.ratings_${mode}`)).toBe(day.valid);
    expect(await count(`SELECT count(*) AS n FROM audit.ratings_${mode}_rejects`)).toBe(day.rejected);
    expect(await count(`SELECT count(*) AS n FROM tributary.load_ledger WHERE target = 'ratings_${mode}'`)).toBe(1);
    // landed: attempt 1's inbox row, found by attempt 2; lost: attempt 2's own.
    const { rows: inbox } = await warehouse.database.pool.query(
      'SELECT attempt FROM tributary.load_inbox WHERE task_instance_id = $1', [load.id]);
    expect(inbox).toEqual([{ attempt: mode === 'landed' ? 1 : 2 }]);
  });
});
