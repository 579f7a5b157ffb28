/**
 * Run page sections for validate, reconcile and report tasks on seeded rows: each check's
 * sparkline is its failing count over the DAG's last 30 runs up to the run (current tries only,
 * never another DAG's), reconciliations show their counts and capped samples, report rows are
 * escaped, and the report download serves the file only from inside the data roots.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPage } from '../../../dashboard/pages/run.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { CHECK_HISTORY_SQL, RECONCILE_SAMPLES, REPORT_ROWS, SPARK_RUNS } from '../../../dashboard/ui-queries.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const TOKEN = 'run-sections-token-0123456789';
const RUNS = 36;
const TARGET_DAY = 33; // not the newest: day 34 and 35 must stay out of its sparkline
const CHECKS = ['not_null_id', 'unique_key'] as const;
/** Failing count of check c in the run of day i (try 2 where i % 4 === 0; try 1 of those runs failed 999). */
const failing = (c: number, i: number) => (c === 0 ? (i * 7) % 11 : i % 3);
const retried = (i: number) => i % 4 === 0;

let t: TestEngine;
let dashboard: Dashboard;
let root: string;
let outside: string;
const runIds: number[] = [];
const reportIds: Record<string, number> = {};
const reportRows = Array.from({ length: 60 }, (_, i) => ({ seller_id: i + 1, name: i === 0 ? '<script>alert(1)</script>' : `seller ${i + 1}` }));
const csvText = `seller_id,name\n${reportRows.map((r) => `${r.seller_id},${r.name}`).join('\n')}\n`;

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await t.database.pool.query<R>(text, values)).rows;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-sections-'));
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-outside-'));
  t = await startTestEngine({
    backend: 'redis', workers: false, dataRoots: [root],
    dags: [{ id: 'sec', schedule: { cron: '0 6 * * *' }, tasks: { checks: { kind: 'effect' }, recon: { kind: 'effect' }, rep: { kind: 'effect' } } }],
  });
  await sql(`INSERT INTO dags (dag_id, file) VALUES ('sec', 'x.ts'), ('other', 'y.ts') ON CONFLICT DO NOTHING`);
  for (let i = 0; i < RUNS; i++) {
    const [run] = await sql<{ id: string }>(
      `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type)
       VALUES ('sec', timestamptz '2025-01-01' + make_interval(days => $1), timestamptz '2025-01-02' + make_interval(days => $1), 'success', 'scheduled') RETURNING id`, [i]);
    const runId = Number(run.id);
    runIds.push(runId);
    const tryNumber = retried(i) ? 2 : 1;
    await sql(`INSERT INTO task_instances (run_id, task_id, state, queue, try_number) VALUES ($1, 'checks', 'success', 'validate', $2),
      ($1, 'recon', 'success', 'reconcile', 1), ($1, 'rep', 'success', 'report', 1)`, [runId, tryNumber]);
    for (const [c, name] of CHECKS.entries()) {
      if (retried(i)) await seedCheck(runId, 1, name, 999);
      await seedCheck(runId, tryNumber, name, failing(c, i));
    }
  }
  // Another DAG with the same check name, same days: never part of sec's history.
  for (let i = 0; i < RUNS; i++) {
    const [run] = await sql<{ id: string }>(
      `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type)
       VALUES ('other', timestamptz '2025-01-01' + make_interval(days => $1), timestamptz '2025-01-02' + make_interval(days => $1), 'success', 'scheduled') RETURNING id`, [i]);
    await sql(`INSERT INTO task_instances (run_id, task_id, state, queue) VALUES ($1, 'checks', 'success', 'validate')`, [run.id]);
    await seedCheck(Number(run.id), 1, 'not_null_id', 500);
  }
  const target = runIds[TARGET_DAY];
  const [result] = await sql<{ id: string }>(
    `INSERT INTO reconcile_results (run_id, task_id, try_number, name, left_source, right_source, severity, keys_total, matched, mismatched, left_only, right_only, outcome, duration_ms)
     VALUES ($1, 'recon', 1, 'wallet_vs_invoices', 'wallet', 'invoices', 'error', 120, 104, 9, 7, 0, 'fail', 3) RETURNING id`, [target]);
  for (let k = 0; k < 9; k++) await seedMismatch(Number(result.id), target, 'mismatched', k, String(100 + k), String(90 + k));
  for (let k = 0; k < 2; k++) await seedMismatch(Number(result.id), target, 'left_only', 50 + k, '1', null);
  await fs.writeFile(path.join(root, 'sellers.csv'), csvText);
  await fs.writeFile(path.join(outside, 'secret.csv'), 'nope\n');
  for (const [name, dir] of [['sellers.csv', root], ['secret.csv', outside]] as const) {
    const [report] = await sql<{ id: string }>(
      `INSERT INTO reports (run_id, task_id, path, file_name, logical_date, row_count, bytes, sha256, columns, rows)
       VALUES ($1, 'rep', $2, $3, timestamptz '2025-02-03', $4, 1, 'x', '["seller_id","name"]', $5) RETURNING id`,
      [target, path.join(dir, name), name, reportRows.length, JSON.stringify(name === 'sellers.csv' ? reportRows : [])]);
    reportIds[name] = Number(report.id);
  }
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await t?.close();
  await fs.rm(root, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
});

async function seedCheck(runId: number, tryNumber: number, name: string, rowsFailing: number) {
  await sql(`INSERT INTO check_results (run_id, task_id, try_number, check_name, check_kind, table_name, severity, rows_evaluated, rows_failing, outcome, sample_keys, sample_rows, duration_ms)
    VALUES ($1, 'checks', $2, $3, 'not_null', 'sellers', 'error', 100, $4, $5, $6, $7, 1)`,
  [runId, tryNumber, name, rowsFailing, rowsFailing > 0 ? 'fail' : 'pass', JSON.stringify([{ id: `k${rowsFailing}` }]),
    JSON.stringify(rowsFailing > 0 ? [{ id: `k${rowsFailing}`, name: `<row ${rowsFailing}>` }] : [])]);
}

async function seedMismatch(resultId: number, runId: number, status: string, key: number, left: string, right: string | null) {
  await sql(`INSERT INTO reconcile_mismatches (result_id, run_id, task_id, name, status, key, left_value, right_value, difference)
    VALUES ($1, $2, 'recon', 'wallet_vs_invoices', $3, $4, $5, $6, $7)`,
  [resultId, runId, status, JSON.stringify({ id: key }), left, right, right === null ? null : Number(left) - Number(right)]);
}

const rowOf = (page: string, attr: string, value: string) => {
  const at = page.indexOf(`<tr ${attr}="${value}"`);
  expect(at, `row ${attr}=${value}`).toBeGreaterThanOrEqual(0);
  return page.slice(at, page.indexOf('</tr>', at));
};

describe('run page sections', () => {
  let page: string;
  beforeAll(async () => {
    page = await runPage(t.database.pool, runIds[TARGET_DAY], t.dags, { csrf: 'c' });
  });

  it('draws each check\'s failing counts of the DAG\'s last 30 runs up to this one, current tries only', () => {
    const days = Array.from({ length: SPARK_RUNS }, (_, k) => TARGET_DAY - SPARK_RUNS + 1 + k);
    for (const [c, name] of CHECKS.entries()) {
      const row = rowOf(page, 'data-check', `checks/${name}`);
      expect(/data-values="([^"]*)"/.exec(row)?.[1]).toBe(days.map((i) => failing(c, i)).join(','));
      expect(row).toContain(`${failing(c, TARGET_DAY)} / 100`);
      expect(row).toMatch(/<polyline [^>]*points="[\d., ]+"/);
      const n = failing(c, TARGET_DAY);
      // The failing sample row, escaped; a passing check shows none.
      if (n > 0) expect(row).toContain(`&lt;row ${n}&gt;`);
      else expect(row).not.toContain('sample-rows');
    }
  });

  it('shows reconciliation counts and at most the sample limit per status', () => {
    const row = rowOf(page, 'data-reconcile', 'recon/wallet_vs_invoices');
    expect([...row.matchAll(/class="num (matched|mismatched|left-only|right-only)">(\d+)</g)].map((m) => `${m[1]}=${m[2]}`))
      .toEqual(['matched=104', 'mismatched=9', 'left-only=7', 'right-only=0']);
    expect(row.match(/data-status="mismatched"/g)).toHaveLength(RECONCILE_SAMPLES);
    expect(row.match(/data-status="left_only"/g)).toHaveLength(2);
    expect(row).toContain('100 ≠ 90 (Δ 10)');
  });

  it('shows the report\'s first rows escaped, with a download link', () => {
    const at = page.indexOf(`data-report="${reportIds['sellers.csv']}"`);
    const table = page.slice(at, page.indexOf('</table>', at));
    expect(table.match(/<tr>/g)).toHaveLength(REPORT_ROWS + 1); // header + rows
    expect(table).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(page).not.toContain('<script>alert');
    expect(page).toContain(`first ${REPORT_ROWS} of ${reportRows.length} rows`);
    expect(page).toContain(`href="/api/runs/${runIds[TARGET_DAY]}/reports/${reportIds['sellers.csv']}/file"`);
  });
});

describe('sparkline history plan', () => {
  it('after 8,000 older runs with checks, reads no table in full', async () => {
    await sql(`WITH r AS (
        INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type)
        SELECT 'sec', timestamptz '2000-01-01' + make_interval(hours => g), timestamptz '2000-01-01' + make_interval(hours => g + 1), 'success', 'scheduled'
        FROM generate_series(1, 8000) g RETURNING id),
      ti AS (INSERT INTO task_instances (run_id, task_id, state, queue) SELECT id, 'checks', 'success', 'validate' FROM r RETURNING run_id)
      INSERT INTO check_results (run_id, task_id, check_name, check_kind, table_name, severity, rows_evaluated, rows_failing, outcome, duration_ms)
      SELECT run_id, 'checks', 'not_null_id', 'not_null', 'sellers', 'error', 100, 1, 'fail', 1 FROM ti`);
    await sql('ANALYZE dag_runs; ANALYZE task_instances; ANALYZE check_results');
    const { rows } = await t.database.pool.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> }>(
      `EXPLAIN (FORMAT JSON) ${CHECK_HISTORY_SQL}`, [runIds[TARGET_DAY], SPARK_RUNS]);
    const scans: string[] = [];
    const walk = (node: Record<string, unknown>) => {
      if (node['Node Type'] === 'Seq Scan') scans.push(String(node['Relation Name']));
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk(rows[0]['QUERY PLAN'][0].Plan);
    expect(scans).toEqual([]);
  });
});

describe('report download', () => {
  const get = (p: string) => fetch(`${dashboard.url}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const target = () => runIds[TARGET_DAY];

  it('serves the file inside the data roots as an attachment', async () => {
    const res = await get(`/api/runs/${target()}/reports/${reportIds['sellers.csv']}/file`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="?sellers\.csv"?$/);
    expect(await res.text()).toBe(csvText);
  });

  it('refuses a file outside the data roots (403) and a report of another run (404)', async () => {
    const outsideRes = await get(`/api/runs/${target()}/reports/${reportIds['secret.csv']}/file`);
    expect(outsideRes.status).toBe(403);
    expect(((await outsideRes.json()) as { error: string }).error).toBe('PATH_OUTSIDE_ROOT');
    const other = await get(`/api/runs/${runIds[0]}/reports/${reportIds['sellers.csv']}/file`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: 'REPORT_NOT_FOUND' });
  });

  it('answers 404 when the file is gone', async () => {
    await fs.rm(path.join(root, 'sellers.csv'));
    const res = await get(`/api/runs/${target()}/reports/${reportIds['sellers.csv']}/file`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'REPORT_NOT_FOUND' });
    await fs.writeFile(path.join(root, 'sellers.csv'), csvText);
  });
});
