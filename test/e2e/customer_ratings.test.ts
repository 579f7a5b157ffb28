/**
 * W1 end to end: the shipped schedules/customer_ratings.ts through the real engine (BullMQ on its
 * Postgres backend, as the embedded default runs). Generated days must match their truth exactly
 * (defects by kind, report rows), the hand-checked fixture its expected report byte for byte;
 * re-running a day or loading the same files again changes nothing; a missing file makes the
 * sensor wait, then fail or go on as configured.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTasks, triggerRun } from '../../engine/operations.ts';
import type { DagSpec, Json } from '../../engine/types.ts';
import type { SensorOptions } from '../../jobs/sensor/index.ts';
import { generateCustomerRatings, W1_DEFECT_KINDS, type W1DefectKind, type W1ReportRow, type W1Truth } from '../../samples/w1-customer-ratings.ts';
import customerRatings from '../../schedules/customer_ratings.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../samples/fixtures/w1');
const REPORT_COLUMNS = Object.keys({
  agency: 0, count_customer_number: 0, sum_customer_rating: 0, high_value_count: 0,
  invalid_customer_number_count: 0, invalid_customer_number_percent: 0,
} satisfies Record<keyof W1ReportRow, 0>);

/** The shipped DAG under another id with some sensor options replaced (the DAG file has no test switches). */
function withSensor(id: string, sensor: Partial<SensorOptions>): DagSpec {
  const files = customerRatings.tasks.files;
  return { ...customerRatings, id, tasks: { ...customerRatings.tasks, files: { ...files, options: { ...(files.options as object), ...sensor } } } };
}

/** Which planted kind an audit row is, from its errors (column:rule); three_bad_columns has three. */
const KIND_BY_ERRORS: Record<string, W1DefectKind> = {
  'customer_number:min': 'customer_number_not_positive',
  'customer_rating:type': 'rating_not_integer',
  'customer_rating_limit:min': 'limit_negative',
  'customer_status:required': 'status_empty',
  'customer_status:max_length': 'status_too_long',
  'null:field_count': 'wrong_field_count',
  'customer_number:min,customer_rating:type,customer_rating_limit:min': 'three_bad_columns',
};

const compact = (day: string) => day.replaceAll('-', '');

let t: TestEngine;
let root: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'w1-e2e-'));
  t = await startTestEngine({
    backend: 'postgres',
    dags: [
      customerRatings,
      withSensor('customer_ratings_two_agencies', { minFiles: 2 }),
      withSensor('customer_ratings_fail', { timeoutMs: 300, pokeIntervalMs: 50, onTimeout: 'fail' }),
      // Files must hold still for stableForMs before the deadline to be taken (2 s in the DAG; 100 ms here).
      withSensor('customer_ratings_continue', { timeoutMs: 300, pokeIntervalMs: 50, onTimeout: 'continue', stableForMs: 100 }),
    ],
  });
});

afterAll(async () => {
  await t?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

async function runDay(dagId: string, day: string, params: Record<string, Json>) {
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get(dagId)!, { date: day, params });
  return { runId, state: await t.waitForRun(runId) };
}

const query = async <R extends object>(sql: string, values: unknown[] = []) => (await t.database.pool.query<R>(sql, values)).rows;

const reportRows = (runId: number) =>
  query<{ rows: W1ReportRow[] }>(`SELECT rows FROM reports WHERE run_id = $1 AND task_id = 'report'`, [runId]).then((r) => r[0]?.rows);

const reportText = (rows: W1ReportRow[]) =>
  [REPORT_COLUMNS, ...rows.map((r) => REPORT_COLUMNS.map((c) => String(r[c as keyof W1ReportRow])))].map((l) => l.join(',')).join('\n') + '\n';

/** Everything a re-run must leave as it is: the table, the ledger, the audit rows. */
const tableState = async () => ({
  rows: await query('SELECT agency, customer_number, customer_rating, customer_rating_limit, customer_status FROM customer_ratings ORDER BY agency, customer_number'),
  ledger: await query('SELECT partition, sha256, run_id, rows_read, rows_loaded, rows_rejected, loaded_at FROM load_ledger ORDER BY id'),
  audit: await query<{ n: number }>('SELECT count(*)::int AS n FROM audit.customer_ratings_rejects'),
});

describe('generated days (2 days × 3 agencies)', () => {
  let truth: W1Truth;
  let params: { dataDir: string; reportDir: string };
  const runs = new Map<string, number>();

  beforeAll(async () => {
    params = { dataDir: path.join(root, 'gen'), reportDir: path.join(root, 'gen-reports') };
    truth = await generateCustomerRatings({ dir: params.dataDir, seed: 7, size: 300, days: 2, startDate: '2025-06-01' });
  });

  it('finds every planted defect with its exact count and writes the exact report rows', async () => {
    for (const day of ['2025-06-01', '2025-06-02']) {
      const { runId, state } = await runDay('customer_ratings', day, params);
      expect(state, JSON.stringify(await t.taskStates(runId))).toBe('success');
      runs.set(day, runId);

      const audit = await query<{ file: string; errors: Array<{ column: string | null; rule: string }> }>(
        'SELECT file, errors FROM audit.customer_ratings_rejects WHERE run_id = $1', [String(runId)],
      );
      for (const file of truth.files.filter((f) => f.date === day)) {
        const found = Object.fromEntries(W1_DEFECT_KINDS.map((k) => [k, 0]));
        for (const row of audit.filter((a) => path.basename(a.file) === file.file)) {
          const kind = KIND_BY_ERRORS[row.errors.map((e) => `${e.column}:${e.rule}`).join(',')];
          expect(kind, JSON.stringify(row.errors)).toBeDefined();
          found[kind] += 1;
        }
        expect(found, file.file).toEqual(file.defects);
      }
      const expected = truth.reports[compact(day)];
      expect(await reportRows(runId)).toEqual(expected.rows);
      expect(await fs.readFile(path.join(params.reportDir, expected.file), 'utf8')).toBe(reportText(expected.rows));
    }
    const ledger = await query<{ partition: string; rows_read: number; rows_loaded: number; rows_rejected: number }>(
      `SELECT partition, rows_read::int, rows_loaded::int, rows_rejected::int FROM load_ledger WHERE target = 'customer_ratings' ORDER BY path`,
    );
    expect(ledger).toEqual(
      [...truth.files].sort((a, b) => a.file.localeCompare(b.file)).map((f) => ({ partition: f.agency, rows_read: f.rows, rows_loaded: f.valid, rows_rejected: f.rejected })),
    );
  });

  it('re-running a day changes nothing: loads skipped, table, ledger, audit and report identical', async () => {
    const runId = runs.get('2025-06-02')!;
    const reportFile = path.join(params.reportDir, truth.reports['20250602'].file);
    const before = { ...(await tableState()), report: await fs.readFile(reportFile) };

    await clearTasks(t.engine.pool, t.engine.dispatcher, t.dags.get('customer_ratings')!, runId, 'files', true);
    expect(await t.waitForRun(runId)).toBe('success');

    expect({ ...(await tableState()), report: await fs.readFile(reportFile) }).toEqual(before);
    const loads = await query<{ result: { files: Array<{ skipped: boolean }> } }>(
      `SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'load' AND map_index >= 0`, [runId],
    );
    expect(loads.flatMap((l) => l.result.files.map((f) => f.skipped))).toEqual([true, true, true]);
    expect(await reportRows(runId)).toEqual(truth.reports['20250602'].rows);
  });

  it('the same files delivered again for the next day are not loaded twice, and reported from the ledger', async () => {
    for (const f of truth.files.filter((x) => x.date === '2025-06-02')) {
      await fs.copyFile(path.join(params.dataDir, f.file), path.join(params.dataDir, `${f.agency}_20250603.csv`));
    }
    const before = await tableState();
    const { runId, state } = await runDay('customer_ratings', '2025-06-03', params);
    expect(state).toBe('success');
    expect(await tableState()).toEqual(before);
    expect(await reportRows(runId)).toEqual(truth.reports['20250602'].rows);
  });
});

describe('hand-checked fixture (samples/fixtures/w1, two agencies)', () => {
  it('writes expected_report_20250513.csv byte for byte', async () => {
    const params = { dataDir: path.join(root, 'fixture'), reportDir: path.join(root, 'fixture-reports') };
    await fs.mkdir(params.dataDir);
    for (const f of ['acme_20250513.csv', 'globex_20250513.csv']) await fs.copyFile(path.join(FIXTURES, f), path.join(params.dataDir, f));
    const { runId, state } = await runDay('customer_ratings_two_agencies', '2025-05-13', params);
    expect(state).toBe('success');
    const written = await fs.readFile(path.join(params.reportDir, 'Customer_Rating_Aggregate_Report_20250513.csv'));
    expect(written.toString()).toBe(await fs.readFile(path.join(FIXTURES, 'expected_report_20250513.csv'), 'utf8'));
    const audit = await query<{ n: number }>('SELECT count(*)::int AS n FROM audit.customer_ratings_rejects WHERE run_id = $1', [String(runId)]);
    expect(audit[0].n).toBe(10);
  });
});

describe('a missing agency file (2 of 3 arrive)', () => {
  let params: { dataDir: string; reportDir: string };

  beforeAll(async () => {
    params = { dataDir: path.join(root, 'late'), reportDir: path.join(root, 'late-reports') };
    await fs.mkdir(params.dataDir);
    for (const agency of ['acme', 'globex']) {
      await fs.copyFile(path.join(FIXTURES, `${agency}_20250513.csv`), path.join(params.dataDir, `${agency}_20250520.csv`));
    }
  });

  const sensorRow = (runId: number) =>
    query<{ state: string; pokes: number; error_code: string | null; result: { files: unknown[]; timedOut?: boolean } | null }>(
      `SELECT state, pokes, error_code, result FROM task_instances WHERE run_id = $1 AND task_id = 'files'`, [runId],
    ).then((r) => r[0]);

  it("onTimeout 'fail': the sensor waits, then the run fails and nothing is loaded", async () => {
    const { runId, state } = await runDay('customer_ratings_fail', '2025-05-20', params);
    expect(state).toBe('failed');
    const sensor = await sensorRow(runId);
    expect(sensor).toMatchObject({ state: 'failed', error_code: 'SENSOR_TIMEOUT' });
    expect(sensor.pokes).toBeGreaterThan(0);
    expect(await t.taskStates(runId)).toMatchObject({ files: 'failed', load: 'upstream_failed', report: 'upstream_failed' });
    expect(await query('SELECT id FROM load_ledger WHERE run_id = $1', [String(runId)])).toEqual([]);
    await expect(fs.readdir(params.reportDir)).rejects.toThrow(/ENOENT/);
  });

  it("onTimeout 'continue': the sensor waits, then the files that arrived are loaded and reported", async () => {
    const { runId, state } = await runDay('customer_ratings_continue', '2025-05-20', params);
    expect(state).toBe('success');
    const sensor = await sensorRow(runId);
    expect(sensor.pokes).toBeGreaterThan(0);
    expect(sensor.result).toMatchObject({ timedOut: true });
    expect(sensor.result?.files).toHaveLength(2);
    const fixture = JSON.parse(await fs.readFile(path.join(FIXTURES, 'truth.json'), 'utf8')) as W1Truth;
    expect(await reportRows(runId)).toEqual(fixture.reports['20250513'].rows);
  });
});
