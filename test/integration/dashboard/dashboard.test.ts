/**
 * The dashboard server on a real engine (Redis queues, fresh database): token / basic auth /
 * login-once session cookie, bull-board lists every kind's queue, JSON API, /metrics, loopback bind.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defineDag } from '../../../engine/dag.ts';
import { loadConfig } from '../../../engine/config.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { dashboardToken } from '../../../dashboard/auth.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { runTask } from '../../support/task-context.ts';

const TOKEN = 'test-token-0123456789abcdef';
const REPORT = { query: 'SELECT 1 AS n, :logical_date::date AS day', fileName: 'summary_{yyyymmdd}.csv', outputDir: path.join(os.tmpdir(), `trib-dash-${process.pid}`) };
const demo = defineDag({
  id: 'dash_demo',
  tasks: { a: { kind: 'noop' }, b: { kind: 'noop', upstream: ['a'] }, summary: { kind: 'report', upstream: ['b'], options: REPORT } },
});

let t: TestEngine;
let dashboard: Dashboard;

beforeAll(async () => {
  t = await startTestEngine({ backend: 'redis', dags: [demo], workers: false });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await dashboard?.close();
  await t?.close();
  await fs.rm(REPORT.outputDir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${dashboard.url}${path}`, { headers, redirect: 'manual' });
const bearer = { authorization: `Bearer ${TOKEN}` };

describe('dashboard', () => {
  it('binds 127.0.0.1 by default', async () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) {
      await expect(fetch(`http://${external.address}:${dashboard.port}/api/health`, { headers: bearer })).rejects.toThrow();
    }
  });

  it('answers 401 without a token or with a wrong one', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer nope-nope-nope-nope' }, { authorization: `Basic ${Buffer.from('u:wrong').toString('base64')}` }];
    for (const headers of attempts) {
      const res = await get('/api/health', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    }
    expect((await get('/queues')).status).toBe(401);
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/api/health?token=wrong')).status).toBe(401);
  });

  it('accepts the bearer token; /api/health checks database and queues', async () => {
    const res = await get('/api/health', bearer);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; database: { ok: boolean }; queues: { ok: boolean; backend: string } };
    expect(body).toMatchObject({ status: 'ok', database: { ok: true }, queues: { ok: true, backend: 'redis' } });
  });

  it('accepts basic auth with any user and the token as password', async () => {
    const res = await get('/api/dags', { authorization: `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}` });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { dagId: string }[]).map((d) => d.dagId)).toEqual(['dash_demo']);
  });

  it('logs in once with the token at /login for an HttpOnly SameSite=Strict cookie that opens bull-board; ?token= is gone', async () => {
    expect((await get(`/queues?token=${encodeURIComponent(TOKEN)}`)).status).toBe(401);
    const login = (token: string) => fetch(`${dashboard.url}/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, next: '/queues' }),
    });
    expect((await login('wrong-wrong-wrong-wrong')).status).toBe(401);
    const first = await login(TOKEN);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/queues');
    const cookies = first.headers.getSetCookie();
    const cookie = cookies.find((c) => c.startsWith('tributary_session=')) ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookies.join(';')).not.toContain(TOKEN);
    const session = cookie.split(';')[0];
    expect((await get('/queues', { cookie: session })).status).toBe(200);
    const api = await get('/queues/api/queues', { cookie: session });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
    for (const kind of t.kinds.keys()) expect(names.some((n) => n.endsWith(kind)), `${kind} in ${names.join(',')}`).toBe(true);
  });

  it('serves a run as JSON and 404s an unknown one', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('dash_demo')!, { date: '2025-05-13' });
    const res = await get(`/api/runs/${runId}`, bearer);
    expect(res.status).toBe(200);
    const run = (await res.json()) as { dagId: string; state: string; tasks: { taskId: string; state: string }[] };
    expect(run.dagId).toBe('dash_demo');
    expect(run.tasks.map((x) => [x.taskId, x.state])).toEqual([['a', 'queued'], ['b', 'none'], ['summary', 'none']]);
    const missing = await get('/api/runs/999999', bearer);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'RUN_NOT_FOUND' });
    expect((await get('/api/runs/abc', bearer)).status).toBe(400);
    const runs = (await (await get('/api/dags/dash_demo/runs', bearer)).json()) as { id: number }[];
    expect(runs.map((r) => r.id)).toEqual([runId]);
  });

  it('serves the latest report of a task as JSON; 404 before one exists or for an unknown task', async () => {
    const before = await get('/api/dags/dash_demo/reports/summary/latest', bearer);
    expect(before.status).toBe(404);
    expect(await before.json()).toMatchObject({ error: 'REPORT_NOT_FOUND' });
    expect((await get('/api/dags/dash_demo/reports/nope/latest', bearer)).status).toBe(404);
    const kind = t.kinds.get('report')!;
    for (const day of ['2025-05-14', '2025-05-15']) {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('dash_demo')!, { date: day });
      await runTask(t.engine.pool, (ctx) => kind.handler(ctx, kind.options.parse(REPORT)), {
        dagId: 'dash_demo', runId: String(runId), taskId: 'summary', logicalDate: new Date(`${day}T00:00:00Z`),
      });
    }
    const res = await get('/api/dags/dash_demo/reports/summary/latest', bearer);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ fileName: 'summary_20250515.csv', rowCount: 1, rows: [{ n: 1, day: '2025-05-15' }] });
  });

  it('exposes Prometheus metrics', async () => {
    const res = await get('/metrics', bearer);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE tributary_task_instances gauge$/m);
    expect(text).toMatch(/^tributary_task_instances\{state="queued"\} 1$/m);
    expect(text).toMatch(/^tributary_dag_runs\{dag_id="dash_demo",state="running"\} 1$/m);
  });

  it('refuses to start without a token unless DASHBOARD_AUTH=off', () => {
    const fail = () => dashboardToken(loadConfig({}));
    expect(fail).toThrow(TributaryError);
    expect(fail).toThrow(/DASHBOARD_TOKEN is required/);
    expect(dashboardToken(loadConfig({ DASHBOARD_AUTH: 'off' }))).toBeNull();
    expect(dashboardToken(loadConfig({ DASHBOARD_TOKEN: TOKEN }))).toBe(TOKEN);
  });
});
