/**
 * The dashboard's login, CSRF, security headers and JSON API after a real W1 run (fixture
 * samples/fixtures/w1): row counts and refused rows are compared with the fixture's truth.json
 * and README, logs with our own SQL, the CSV with csv-parse; actions are checked in Postgres.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { startW1Run, W1_FIXTURES, type W1Run } from './w1-run.ts';
import { browserLogin } from './browser-login.ts';

const TOKEN = 'ui-test-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };

let w1: W1Run;
let dashboard: Dashboard;

beforeAll(async () => {
  w1 = await startW1Run();
  dashboard = await startDashboard({ engine: w1.t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }), backfillMaxRuns: 20 });
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await w1?.close();
});

const call = (p: string, init: RequestInit = {}) => fetch(`${dashboard.url}${p}`, { redirect: 'manual', ...init });
const api = async <T>(p: string, init: RequestInit = {}): Promise<{ status: number; body: T; headers: Headers }> => {
  const res = await call(p, { ...init, headers: { ...bearer, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
};
const post = <T>(p: string, body: unknown = {}) => api<T>(p, { method: 'POST', body: JSON.stringify(body) });
const sql = async <R extends object>(text: string, values: unknown[] = []) => (await w1.t.database.pool.query<R>(text, values)).rows;

/** A browser session: the cookie /login sets, and the CSRF token of its pages. */
async function login(): Promise<{ cookie: string; csrf: string }> {
  return browserLogin(dashboard.url, TOKEN);
}

type RefusedBody = { rows: Array<{ id: number; line: number; raw: string }>; total: number; nextAfter: number | null };

/** Refused rows per rule, from the fixture's truth (defect kind → the rules its errors carry). */
const RULES_OF_KIND: Record<string, string[]> = {
  customer_number_not_positive: ['min'], rating_not_integer: ['type'], limit_negative: ['min'], status_empty: ['required'],
  status_too_long: ['max_length'], wrong_field_count: ['field_count'], three_bad_columns: ['min', 'type'],
};

describe('login, CSRF and headers', () => {
  it('sends a browser without a session to the login page; the API answers 401', async () => {
    const page = await call('/runs/1', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?next=%2Fruns%2F1');
    const form = await call('/login?next=%2Fruns%2F1');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="next" value="/runs/1"');
    expect((await call('/api/dags')).status).toBe(401);
    expect((await call('/api/openapi.json')).status).toBe(401);
  });

  it('never sends the browser off-site after login', async () => {
    const res = await call('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: TOKEN, next: '//evil.example/x' }) });
    expect(res.headers.get('location')).toBe('/');
  });

  it('sets security headers', async () => {
    const res = await call('/login');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(res.headers.get('content-security-policy')).not.toMatch(/upgrade-insecure-requests/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('refuses a cookie-session POST without the CSRF token (UI, API and bull-board), accepts it with one', async () => {
    const { cookie, csrf } = await login();
    const form = (body: Record<string, string>) => ({ method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
    expect((await call('/dags/transactions_api/pause', form({}))).status).toBe(403);
    expect((await call('/dags/transactions_api/pause', form({ _csrf: 'x'.repeat(97) }))).status).toBe(403);
    expect((await call('/api/dags/transactions_api/pause', { method: 'POST', headers: { cookie } })).status).toBe(403);
    expect((await call('/queues/api/queues/load/pause', { method: 'PUT', headers: { cookie } })).status).toBe(403);
    const basic = { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` };
    expect((await call('/api/dags/transactions_api/pause', { method: 'POST', headers: basic })).status).toBe(403);
    expect(await sql('SELECT paused FROM dags WHERE dag_id = $1', ['transactions_api'])).toEqual([{ paused: false }]);

    const ok = await call('/dags/transactions_api/pause', form({ _csrf: csrf }));
    expect(ok.status).toBe(303);
    expect(await sql('SELECT paused FROM dags WHERE dag_id = $1', ['transactions_api'])).toEqual([{ paused: true }]);
    const viaHeader = await call('/api/dags/transactions_api/unpause', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(viaHeader.status).toBe(200);
    expect(await sql('SELECT paused FROM dags WHERE dag_id = $1', ['transactions_api'])).toEqual([{ paused: false }]);
    // bull-board's page sends the session's token as X-CSRF-Token (dashboard/static/board-csrf.js).
    const board = await call(`/queues/api/queues/${encodeURIComponent('nope')}/pause`, { method: 'PUT', headers: { cookie, 'x-csrf-token': csrf } });
    expect(board.status).not.toBe(403);
  });
});

describe('JSON API on the W1 run', () => {
  it('lists each file with the fixture\'s rows read / loaded / refused', async () => {
    const { status, body } = await api<Array<{ path: string; rowsRead: number; rowsLoaded: number; rowsRefused: number; sha256: string }>>(`/api/runs/${w1.runId}/files`);
    expect(status).toBe(200);
    const got = body.map((f) => ({ file: path.basename(f.path), rows: f.rowsRead, valid: f.rowsLoaded, rejected: f.rowsRefused })).sort((a, b) => a.file.localeCompare(b.file));
    expect(got).toEqual(w1.truth.files.map((f) => ({ file: f.file, rows: f.rows, valid: f.valid, rejected: f.rejected })).sort((a, b) => a.file.localeCompare(b.file)));
    expect(body.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
  });

  it('pages refused rows by cursor and filters them by rule and column', async () => {
    const truth = JSON.parse(await fs.readFile(path.join(W1_FIXTURES, 'truth.json'), 'utf8')) as { files: Array<{ rejected: number; defects: Record<string, number> }> };
    const total = truth.files.reduce((n, f) => n + f.rejected, 0);
    const seen: number[] = [];
    let after: number | null = 0;
    while (after !== null) {
      const { body }: { body: RefusedBody } = await api<RefusedBody>(`/api/runs/${w1.runId}/refused?task=load&limit=3${after ? `&after=${after}` : ''}`);
      expect(body.total).toBe(total);
      expect(body.rows.length).toBeLessThanOrEqual(3);
      seen.push(...body.rows.map((r) => r.id));
      after = body.nextAfter;
    }
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    for (const rule of ['min', 'type', 'required', 'field_count']) {
      const expected = truth.files.reduce((n, f) => n + Object.entries(f.defects).filter(([k]) => RULES_OF_KIND[k].includes(rule)).reduce((m, [, c]) => m + c, 0), 0);
      const { body } = await api<{ total: number; rows: unknown[] }>(`/api/runs/${w1.runId}/refused?task=load&rule=${rule}`);
      expect(body.total, rule).toBe(expected);
      expect(body.rows.length, rule).toBe(expected);
    }
    // README: customer_number ≤ 0 on acme lines 6, 15 and globex line 8.
    const byColumn = await api<{ rows: Array<{ line: number }> }>(`/api/runs/${w1.runId}/refused?task=load&rule=min&column=customer_number`);
    expect(byColumn.body.rows.map((r) => r.line).sort((a, b) => a - b)).toEqual([6, 8, 15]);
    expect((await api(`/api/runs/${w1.runId}/refused?task=report`)).status).toBe(400);
    expect((await api(`/api/runs/${w1.runId}/refused`)).status).toBe(400);
  });

  it('downloads the refused rows as CSV', async () => {
    const { cookie } = await login();
    const res = await call(`/runs/${w1.runId}/refused.csv?task=load&rule=type`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/attachment/);
    const rows = parse(await res.text(), { columns: true }) as Array<{ file: string; line: string; rules: string; raw: string }>;
    expect(rows.map((r) => `${path.basename(r.file)}:${r.line}`).sort()).toEqual(['acme_20250513.csv:15', 'acme_20250513.csv:7', 'globex_20250513.csv:5']);
    const acme7 = rows.find((r) => r.file.endsWith('acme_20250513.csv') && r.line === '7')!;
    expect(acme7.raw).toBe('1006,abc,500,active');
  });

  it('pages a task log from the newest line back to the first, the engine\'s derived lines among the stored ones', async () => {
    // Counted apart: the stored lines, and the engine's two per try (engine/sql/task-log.sql) from the try and attempt rows.
    const [{ stored, started, succeeded }] = await sql<{ stored: number; started: number; succeeded: number }>(
      `SELECT (SELECT count(*)::int FROM task_logs l WHERE l.task_instance_id = ANY (ids)) AS stored,
         (SELECT count(*)::int FROM task_tries t WHERE t.task_instance_id = ANY (ids))
           + (SELECT count(*)::int FROM task_attempts a WHERE a.task_instance_id = ANY (ids) AND a.attempt > 1) AS started,
         (SELECT count(*)::int FROM task_attempts a WHERE a.task_instance_id = ANY (ids) AND a.state = 'success') AS succeeded
       FROM (SELECT array_agg(id) AS ids FROM task_instances WHERE run_id = $1 AND task_id = 'load') i`, [w1.runId]);
    expect(stored).toBeGreaterThan(2);
    expect(succeeded).toBe(w1.truth.files.length); // each mapped child (the parent is expanded, not run)
    type Line = { cursor: string; mapIndex: number; message: string; at: string };
    const lines: Line[] = [];
    let before: string | null = null;
    do {
      const { body }: { body: { lines: Line[]; olderBefore: string | null } } = await api(`/api/runs/${w1.runId}/logs?task=load&limit=2${before ? `&before=${before}` : ''}`);
      expect(body.lines.length).toBeLessThanOrEqual(2);
      lines.unshift(...body.lines);
      before = body.olderBefore;
    } while (before !== null);
    expect(lines.length).toBe(stored + started + succeeded);
    expect(new Set(lines.map((l) => l.cursor)).size).toBe(lines.length);
    expect(lines.filter((l) => l.message === 'try started')).toHaveLength(started);
    expect(lines.filter((l) => l.message === 'try succeeded')).toHaveLength(succeeded);
    // Oldest first, and each child's log between its start and its success.
    expect(lines.map((l) => Date.parse(l.at))).toEqual(lines.map((l) => Date.parse(l.at)).sort((a, b) => a - b));
    for (const i of new Set(lines.map((l) => l.mapIndex))) {
      const own = lines.filter((l) => l.mapIndex === i).map((l) => l.message);
      expect(own[0], `map index ${i}`).toBe('try started');
      expect(own.at(-1), `map index ${i}`).toBe('try succeeded');
    }
    // The same lines in one page as in pages of two.
    const { body: whole }: { body: { lines: Line[]; olderBefore: string | null } } = await api(`/api/runs/${w1.runId}/logs?task=load&limit=5000`);
    expect(whole.olderBefore).toBeNull();
    expect(whole.lines.map((l) => l.cursor)).toEqual(lines.map((l) => l.cursor));
  });

  it('serves the grid with mapped loads folded into one cell', async () => {
    const { body } = await api<{ runs: Array<{ id: number }>; tasks: Array<{ taskId: string; cells: Array<{ state: string; mapped: number } | null> }> }>('/api/dags/customer_ratings/grid');
    expect(body.runs.map((r) => r.id)).toContain(w1.runId);
    const col = body.runs.findIndex((r) => r.id === w1.runId);
    expect(body.tasks.map((t) => t.taskId)).toEqual(['files', 'load', 'report']);
    expect(body.tasks[1].cells[col]).toMatchObject({ state: 'success', mapped: w1.truth.files.length });
  });

  it('answers clear errors: unknown DAG, bad body, bad id, unknown run', async () => {
    expect(await post('/api/dags/nope/runs', {})).toMatchObject({ status: 404, body: { error: 'DAG_NOT_FOUND' } });
    const badParams = await post<{ error: string; message: string }>('/api/dags/customer_ratings/runs', { params: 'x' });
    expect(badParams.status).toBe(400);
    expect(badParams.body.message).toMatch(/params/);
    const undeclared = await post<{ error: string; message: string }>('/api/dags/customer_ratings/runs', { params: { apiToken: 'x' } });
    expect(undeclared).toMatchObject({ status: 400, body: { error: 'ARGUMENT_INVALID' } });
    expect(undeclared.body.message).toBe('ARGUMENT_INVALID: dag "customer_ratings": unknown param "apiToken" (declared: dataDir, reportDir, filePattern)');
    const badJson = await api<{ error: string }>('/api/dags/customer_ratings/runs', { method: 'POST', body: '{nope' });
    expect(badJson).toMatchObject({ status: 400, body: { error: 'ARGUMENT_INVALID' } });
    expect((await api('/api/runs/abc/files')).status).toBe(400);
    expect(await api('/api/runs/999999/checks')).toMatchObject({ status: 404, body: { error: 'RUN_NOT_FOUND' } });
    expect((await post(`/api/runs/${w1.runId}/tasks/report/mark`, { state: 'running' })).status).toBe(400);
  });

  it('triggers, marks, clears and bulk-clears through the engine', async () => {
    for (const f of w1.truth.files) await fs.copyFile(path.join(W1_FIXTURES, f.file), path.join(w1.params.dataDir, f.file.replace('20250513', '20250514')));
    const trig = await post<{ runId: number; created: boolean }>('/api/dags/customer_ratings/runs', { date: '2025-05-14', params: w1.params });
    expect(trig.status).toBe(201);
    expect(await w1.t.waitForRun(trig.body.runId)).toBe('success');
    // Params a trigger refuses (undeclared) can still sit in runs created before they were declared.
    await sql('UPDATE dag_runs SET params = params || $2::jsonb WHERE id = $1', [trig.body.runId, JSON.stringify({ apiToken: 'sekrit-value', note: '<script>alert(1)</script>' })]);
    expect(await sql('SELECT logical_date::date::text AS d, run_type FROM dag_runs WHERE id = $1', [trig.body.runId])).toEqual([{ d: '2025-05-14', run_type: 'manual' }]);

    const { cookie } = await login();
    const html = await (await call(`/runs/${trig.body.runId}`, { headers: { cookie } })).text();
    expect(html).not.toContain('sekrit-value');
    expect(html).toContain('apiToken');
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');

    const id = trig.body.runId;
    expect((await post(`/api/runs/${id}/tasks/report/mark`, { state: 'failed' })).status).toBe(200);
    expect(await w1.t.waitForRun(id)).toBe('failed');
    const bulk = await post<Array<{ runId: number; cleared: string[] }>>('/api/dags/customer_ratings/clear-failed', { runIds: [id, w1.runId] });
    expect(bulk.body).toEqual([{ runId: id, cleared: ['report'] }, { runId: w1.runId, cleared: [] }]);
    expect(await w1.t.waitForRun(id)).toBe('success');
    const cleared = await post<{ cleared: string[] }>(`/api/runs/${id}/tasks/load/clear`, { downstream: true });
    expect(cleared.body.cleared).toEqual(['load', 'report']);
    expect(await w1.t.waitForRun(id)).toBe('success');
    // Each task's attempts (task_attempts): the report ran 3 times, each mapped load twice, the sensor once.
    const attempts = await sql<{ task_id: string; map_index: number; n: number }>(
      `SELECT ti.task_id, ti.map_index, count(a.id)::int AS n FROM task_instances ti LEFT JOIN task_attempts a ON a.task_instance_id = ti.id
       WHERE ti.run_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`, [id]);
    expect(attempts).toEqual([
      { task_id: 'files', map_index: -1, n: 1 }, { task_id: 'load', map_index: -1, n: 0 },
      ...w1.truth.files.map((_, i) => ({ task_id: 'load', map_index: i, n: 2 })), { task_id: 'report', map_index: -1, n: 3 },
    ]);
  });

  it('a trigger names its date `date`: an existing run with the same params is 200 (nothing started), other params 409 RUN_EXISTS; a run is cleared whole', async () => {
    type Trig = { runId: number; created: boolean; started: boolean; state: string; waitReason: string | null };
    // The 2025-05-14 run of the test before, with the params it was triggered with again.
    await sql(`UPDATE dag_runs SET params = params - 'apiToken' - 'note' WHERE dag_id = 'customer_ratings' AND logical_date::date = '2025-05-14'`);
    const again = await post<Trig>('/api/dags/customer_ratings/runs', { date: '2025-05-14', params: w1.params });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, started: false, state: 'success', waitReason: null });
    const other = await post<{ error: string; message: string }>('/api/dags/customer_ratings/runs', { date: '2025-05-14', params: { ...w1.params, filePattern: 'x_*.csv' } });
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('RUN_EXISTS');
    const [stored] = await sql<{ params: object }>('SELECT params FROM dag_runs WHERE id = $1', [again.body.runId]);
    expect(other.body.message).toContain(`already exists with params ${JSON.stringify(stored.params)}, not these: `);
    expect(other.body.message).toContain('"filePattern":"x_*.csv"');
    expect((await post('/api/dags/customer_ratings/runs', { day: '2025-05-14' })).status).toBe(400); // the old name is refused, not ignored

    const cleared = await post<{ cleared: string[] }>(`/api/runs/${again.body.runId}/clear`);
    expect(cleared.body.cleared).toEqual(['files', 'load', 'report']);
    expect(await w1.t.waitForRun(again.body.runId)).toBe('success');

    // Paused by an operator: a trigger without a date is a new run that waits, and says why (here and on /api/runs/:id).
    expect((await post('/api/dags/customer_ratings/pause')).status).toBe(200);
    const held = await post<Trig>('/api/dags/customer_ratings/runs', { params: w1.params });
    const reason = 'dag customer_ratings was paused by an operator (trib unpause customer_ratings)';
    expect(held).toMatchObject({ status: 201, body: { created: true, started: false, state: 'queued', waitReason: reason } });
    expect((await api<{ waitReason: string | null }>(`/api/runs/${held.body.runId}`)).body.waitReason).toBe(reason);
    await sql('DELETE FROM dag_runs WHERE id = $1', [held.body.runId]);
  });

  it('previews a backfill, creates it, and pages the runs by cursor', async () => {
    await post('/api/dags/credit_platform/pause');
    const preview = await api<{ runs: number }>('/api/dags/credit_platform/backfill?from=2025-04-01&to=2025-04-05');
    expect(preview.body.runs).toBe(5);
    expect((await api('/api/dags/credit_platform/backfill?from=2024-01-01&to=2024-12-31')).body).toMatchObject({ runs: 366 });
    expect(await post('/api/dags/credit_platform/backfill', { from: '2024-01-01', to: '2024-12-31' })).toMatchObject({ status: 400, body: { error: 'BACKFILL_TOO_LARGE' } });
    expect((await post('/api/dags/credit_platform/backfill', { from: '2025-04-01', to: '2025-04-05' })).body).toEqual({ runs: 5, created: 5 });
    const dates: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Array<{ logicalDate: string }>; headers: Headers } = await api(`/api/dags/credit_platform/runs?limit=2${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
      dates.push(...page.body.map((r) => r.logicalDate));
      cursor = page.headers.get('x-next-cursor');
    } while (cursor);
    const own = await sql<{ d: Date }>(`SELECT logical_date AS d FROM dag_runs WHERE dag_id = 'credit_platform' ORDER BY logical_date DESC`);
    expect(dates).toEqual(own.map((r) => r.d.toISOString()));
    expect(dates.length).toBe(5);
  });

  it('publishes an OpenAPI document made from the request schemas', async () => {
    const { status, body } = await api<{ openapi: string; paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string }>; requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> }>('/api/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toBe('3.1.0');
    const trig = body.paths['/api/dags/{dagId}/runs'].post;
    expect(Object.keys(trig.requestBody!.content['application/json'].schema.properties).sort()).toEqual(['date', 'params']);
    expect(body.paths['/api/runs/{runId}/refused'].get.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
      ['path:runId', 'query:task', 'query:rule', 'query:column', 'query:after', 'query:limit']);
    // Every documented GET without required query parameters answers (no 404 for a documented path).
    for (const [p, ops] of Object.entries(body.paths)) {
      if (!ops.get || ops.get.parameters.some((x) => x.in === 'query' && (x as { required?: boolean }).required)) continue;
      const [report] = await sql<{ id: string }>('SELECT id FROM reports WHERE run_id = $1', [w1.runId]);
      const url = p.replace('{dagId}', 'customer_ratings').replace('{runId}', String(w1.runId)).replace('{taskId}', 'report').replace('{reportId}', report.id);
      expect((await call(url, { headers: bearer })).status, url).toBe(200);
    }
  });
});
