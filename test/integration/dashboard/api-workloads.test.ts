/**
 * The seed workloads' endpoints on seeded `reports` rows (the shape jobs/report writes: columns,
 * first rows as JSON objects): W2 seller health for one seller from the newest report (404 unknown
 * seller, 400 bad id or a report without seller_id), W3's five merchant metrics from the newest run
 * that has reports, and both in /api/openapi.json.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import creditPlatform from '../../../schedules/credit_platform.ts';
import merchantActivity from '../../../schedules/merchant_activity.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const TOKEN = 'workloads-token-0123456789';
const METRICS = ['top_merchants', 'monthly_active_merchants', 'product_adoption', 'kyc_funnel', 'failure_rate_by_product'];

let t: TestEngine;
let dashboard: Dashboard;
const runs: Record<string, number> = {};

/** Seller health rows of day d: sellers 100..139, seller 123 only in the newer report (day 2). */
const sellerRows = (day: number) => Array.from({ length: 40 }, (_, i) => 100 + i)
  .filter((id) => day === 2 || id !== 123)
  .map((id) => ({ seller_id: id, seller_name: `Seller ${id}`, health_score: (id * 13 + day * 7) % 101, risk_level: id % 3 === 0 ? 'high' : 'low' }));
const metricRows = (task: string, day: number) => Array.from({ length: 3 + (task.length % 3) }, (_, i) => ({ [task]: `${task}-${day}-${i}`, value: i * day }));

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await t.database.pool.query<R>(text, values)).rows;

async function seedRun(dagId: string, day: number): Promise<number> {
  const [run] = await sql<{ id: string }>(
    `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type)
     VALUES ($1, timestamptz '2025-05-10' + make_interval(days => $2), timestamptz '2025-05-11' + make_interval(days => $2), 'success', 'scheduled') RETURNING id`,
    [dagId, day]);
  return Number(run.id);
}

async function seedReport(runId: number, day: number, taskId: string, rows: Array<Record<string, unknown>>) {
  await sql(`INSERT INTO reports (run_id, task_id, path, file_name, logical_date, row_count, bytes, sha256, columns, rows)
    VALUES ($1, $2, $3, $4, timestamptz '2025-05-10' + make_interval(days => $5), $6, 1, 'x', $7, $8)`,
  [runId, taskId, `/tmp/${taskId}-${day}.csv`, `${taskId}-${day}.csv`, day, rows.length, JSON.stringify(Object.keys(rows[0])), JSON.stringify(rows)]);
}

beforeAll(async () => {
  t = await startTestEngine({ backend: 'redis', workers: false, dags: [creditPlatform, merchantActivity] });
  await sql(`INSERT INTO dags (dag_id, file) VALUES ('credit_platform', 'a.ts'), ('merchant_activity', 'b.ts') ON CONFLICT DO NOTHING`);
  for (const day of [1, 2]) {
    runs[`w2-${day}`] = await seedRun('credit_platform', day);
    await seedReport(runs[`w2-${day}`], day, 'report_seller_health', sellerRows(day));
    await seedReport(runs[`w2-${day}`], day, 'report_scorecard', [{ table_name: 'sellers', score: 99.5 }]);
    runs[`w3-${day}`] = await seedRun('merchant_activity', day);
    for (const task of METRICS) await seedReport(runs[`w3-${day}`], day, task, metricRows(task, day));
  }
  runs['w3-3'] = await seedRun('merchant_activity', 3); // newest run, no reports yet (still running)
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await t?.close();
});

const get = async (p: string) => {
  const res = await fetch(`${dashboard.url}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, text: await res.text() };
};
const HEALTH = '/api/dags/credit_platform/reports/report_seller_health/latest';

describe('seller health for one seller', () => {
  it('answers the seller\'s row of the newest report', async () => {
    for (const id of ['123', '0123']) {
      const res = await get(`${HEALTH}?seller_id=${id}`);
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text) as { runId: number; fileName: string; row: unknown };
      expect(body.runId).toBe(runs['w2-2']);
      expect(body.fileName).toBe('report_seller_health-2.csv');
      expect(body.row).toEqual(sellerRows(2).find((r) => r.seller_id === 123));
    }
    const older = JSON.parse((await get(`${HEALTH}?seller_id=101`)).text) as { row: { health_score: number } };
    expect(older.row.health_score).toBe((101 * 13 + 2 * 7) % 101); // day 2's score, not day 1's
  });

  it('answers 404 for an unknown seller and 400 for a bad id, as one {error, message} line', async () => {
    for (const [query, status, code] of [
      ['seller_id=999', 404, 'REPORT_ROW_NOT_FOUND'], ['seller_id=abc', 400, 'ARGUMENT_INVALID'], ['seller_id=-1', 400, 'ARGUMENT_INVALID'],
      ['seller_id=1.5', 400, 'ARGUMENT_INVALID'], ['seller_id=', 400, 'ARGUMENT_INVALID'], ['seller_id=1&seller_id=2', 400, 'ARGUMENT_INVALID'],
    ] as const) {
      const res = await get(`${HEALTH}?${query}`);
      expect(res.status, query).toBe(status);
      expect(res.text).not.toContain('\n');
      const body = JSON.parse(res.text) as Record<string, string>;
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(body.error, query).toBe(code);
    }
    expect(JSON.parse((await get(`${HEALTH}?seller_id=999`)).text).message).toContain('seller_id 999');
  });

  it('refuses seller_id on a report without that column (400), and an unknown task (404)', async () => {
    const scorecard = await get('/api/dags/credit_platform/reports/report_scorecard/latest?seller_id=123');
    expect(scorecard.status).toBe(400);
    expect(JSON.parse(scorecard.text).error).toBe('ARGUMENT_INVALID');
    const unknown = await get('/api/dags/credit_platform/reports/nope/latest?seller_id=123');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error).toBe('TASK_NOT_FOUND');
  });

  it('still answers the whole newest report without seller_id', async () => {
    const body = JSON.parse((await get(HEALTH)).text) as { runId: number; rows: unknown[] };
    expect(body.runId).toBe(runs['w2-2']);
    expect(body.rows).toEqual(sellerRows(2));
  });
});

describe('merchant metrics', () => {
  it('answers the five reports of the newest merchant_activity run that has them', async () => {
    const res = await get('/api/dags/merchant_activity/reports');
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as { runId: number; reports: Record<string, { rows: unknown[]; rowCount: number }> };
    expect(body.runId).toBe(runs['w3-2']);
    expect(Object.keys(body.reports).sort()).toEqual([...METRICS].sort());
    for (const task of METRICS) {
      expect(body.reports[task].rows).toEqual(metricRows(task, 2));
      expect(body.reports[task].rowCount).toBe(metricRows(task, 2).length);
    }
  });

  it('answers 404 for a DAG with no reports yet', async () => {
    await sql(`DELETE FROM reports WHERE task_id = ANY($1)`, [['report_seller_health', 'report_scorecard']]);
    const res = await get('/api/dags/credit_platform/reports');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error).toBe('REPORT_NOT_FOUND');
  });
});

describe('OpenAPI', () => {
  it('lists the workload routes with the seller_id parameter', async () => {
    const doc = JSON.parse((await get('/api/openapi.json')).text) as { paths: Record<string, { get?: { parameters: Array<{ name: string; in: string }> } }> };
    expect(doc.paths['/api/dags/{dagId}/reports']?.get).toBeDefined();
    expect(doc.paths['/api/dags/{dagId}/reports/{taskId}/latest']?.get?.parameters.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(['seller_id']);
    expect(doc.paths['/api/runs/{runId}/reports/{reportId}/file']?.get?.parameters.map((p) => p.name)).toEqual(['runId', 'reportId']);
  });
});
