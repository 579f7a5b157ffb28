/**
 * Malformed input against a real dashboard and engine (issue 19): control characters in filters,
 * out-of-range `before` cursors, params nested 10,000 deep, a JSON API POST that is not JSON, and
 * secret-looking params in API responses. Each is a 4xx with one line naming what is wrong, the
 * server's pino log (captured) has no error-level line, and no run is created (SQL count).
 */
import { pino } from 'pino';
import { z } from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { browserLogin } from './browser-login.ts';

const TOKEN = 'guards-test-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };
const SECRET = 'tok-very-secret-42';
const dag = defineDag({
  id: 'guards_demo',
  params: { api_token: 'default-secret-value', label: 'x', extra: z.json().optional() },
  tasks: { a: { kind: 'noop' } },
});

let t: TestEngine;
let dashboard: Dashboard;
let runId: number;
const logLines: Array<{ level: number; msg: string }> = [];

beforeAll(async () => {
  t = await startTestEngine({ backend: 'postgres', dags: [dag], workers: false });
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log });
  runId = (await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('guards_demo')!, { date: '2025-05-14', params: { api_token: SECRET } })).runId;
}, 60_000);

// Each test sees only its own log lines (a guard removed shows as an error line in its test).
beforeEach(() => {
  logLines.length = 0;
});

afterAll(async () => {
  await dashboard?.close();
  await t?.close();
});

const call = (p: string, init: RequestInit = {}) => fetch(`${dashboard.url}${p}`, { redirect: 'manual', ...init, headers: { ...bearer, ...(init.headers ?? {}) } });
const json = async (p: string, init: RequestInit = {}) => {
  const res = await call(p, init);
  return { status: res.status, body: (await res.json()) as { error?: string; message?: string } & Record<string, unknown> };
};
const runCount = async () => Number((await t.engine.pool.query<{ n: string }>('SELECT count(*) AS n FROM dag_runs')).rows[0].n);
const errorLines = () => logLines.filter((l) => l.level >= 50);
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** A browser session (cookie + CSRF token) for the UI's form POSTs. */
async function login(): Promise<{ cookie: string; csrf: string }> {
  return browserLogin(dashboard.url, TOKEN);
}

describe('dashboard input guards', () => {
  it('refuses control characters in log and refused-row filters with a 400 naming the parameter (API and UI)', async () => {
    for (const [p, name] of [
      [`/api/runs/${runId}/logs?task=a&q=x%00y`, 'q'],
      [`/api/runs/${runId}/logs?task=a%00`, 'task'],
      [`/api/runs/${runId}/refused?task=a&rule=r%00`, 'rule'],
      [`/api/runs/${runId}/refused?task=a&column=c%01`, 'column'],
    ] as const) {
      const res = await json(p);
      expect(res.status, p).toBe(400);
      expect(res.body.message).toMatch(new RegExp(`${name}: must not contain control characters`));
    }
    for (const [p, name] of [[`/runs/${runId}?log=a&q=x%00`, 'q'], [`/runs/${runId}?log=a%00`, 'log'], [`/runs/${runId}/refused?task=a&rule=%00`, 'rule'], [`/runs/${runId}/refused.csv?task=a&column=%00`, 'column']] as const) {
      const res = await call(p);
      expect(res.status, p).toBe(400);
      expect(await res.text()).toContain(`${name} must not contain control characters`);
    }
    expect((await json(`/api/runs/${runId}/logs?task=a&q=plain`)).status).toBe(200);
    expect(errorLines()).toEqual([]);
  });

  it('refuses a before cursor outside Postgres\'s range or not a timestamp with a 400 naming it and the form', async () => {
    for (const before of ['-271821-04-20', '-271821-04-20T00:00:00Z', '9999999-01-01', 'abc', '0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00']) {
      for (const p of [`/api/dags/guards_demo/runs?before=${encodeURIComponent(before)}`, `/api/dags/guards_demo/grid?before=${encodeURIComponent(before)}`]) {
        const res = await json(p);
        expect(res.status, p).toBe(400);
        expect(res.body.message).toMatch(/before: must be an ISO date-time such as 2026-01-31T00:00:00Z, years 0001–9999/);
      }
      const page = await call(`/dags/guards_demo?before=${encodeURIComponent(before)}`);
      expect(page.status, before).toBe(400);
      expect(await page.text()).toContain('is not a cursor: use an ISO date-time');
    }
    expect((await json('/api/dags/guards_demo/runs?before=9999-12-31T00:00:00Z')).status).toBe(200);
    expect((await call('/dags/guards_demo?before=2025-05-15T00:00:00.000Z')).status).toBe(200);
    expect(errorLines()).toEqual([]);
  });

  it('refuses params nested 10,000 deep (API) or past the limit (UI form) before anything recurses on them', async () => {
    const before = await runCount();
    const api = await json('/api/dags/guards_demo/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"params":{"extra":${nested(10_000)}}}` });
    expect(api.status).toBe(400);
    expect(api.body.message).toMatch(/nested deeper than 32 levels \(the limit\)/);
    const big = await json('/api/dags/guards_demo/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ params: { extra: 'x'.repeat(70_000) } }) });
    expect(big.status).toBe(400);
    expect(big.body.message).toMatch(/params are \d+ bytes of JSON, more than the limit of 65536/);
    const { cookie, csrf } = await login();
    const form = await fetch(`${dashboard.url}/dags/guards_demo/trigger`, {
      method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, params: `{"extra":${nested(40)}}` }),
    });
    expect(form.status).toBe(400);
    expect(await form.text()).toMatch(/params is nested deeper than 32 levels/);
    expect(await runCount()).toBe(before);
    expect(errorLines()).toEqual([]);
  });

  it('answers 415 to a JSON API POST that is not JSON and creates no run; a route without a body needs none', async () => {
    const before = await runCount();
    const plain = await json('/api/dags/guards_demo/runs', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ date: '2025-05-20' }) });
    expect(plain.status).toBe(415);
    expect(plain.body).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE', message: 'POST /api/dags/guards_demo/runs takes Content-Type: application/json, not text/plain' });
    const emptyPlain = await json('/api/dags/guards_demo/runs', { method: 'POST', headers: { 'content-type': 'text/plain' } });
    expect(emptyPlain.status).toBe(415);
    const form = await json(`/api/runs/${runId}/tasks/a/clear`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'downstream=true' });
    expect(form.status).toBe(415);
    expect(await runCount()).toBe(before);
    // No body and no type at all: a bare trigger, a new manual run with the default params.
    const bare = await json('/api/dags/guards_demo/runs', { method: 'POST' });
    expect(bare.status).toBe(201);
    expect(await runCount()).toBe(before + 1);
    expect((await json('/api/dags/guards_demo/pause', { method: 'POST' })).status).toBe(200);
    expect((await json('/api/dags/guards_demo/unpause', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })).status).toBe(415);
    expect((await json('/api/dags/guards_demo/unpause', { method: 'POST' })).status).toBe(200);
    expect(errorLines()).toEqual([]);
  });

  it('masks secret-looking params in every API response as the run page does', async () => {
    const detail = await call(`/api/runs/${runId}`);
    const list = await call('/api/dags/guards_demo/runs');
    const texts = [await detail.text(), await list.text()];
    for (const text of texts) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('default-secret-value');
    }
    expect(JSON.parse(texts[0])).toMatchObject({ params: { api_token: '••••••', label: 'x' } });
    expect((JSON.parse(texts[1]) as Array<{ params: Record<string, unknown> }>)[0].params).toMatchObject({ api_token: '••••••', label: 'x' });
    const page = await (await call(`/runs/${runId}`)).text();
    expect(page).not.toContain(SECRET);
    const stored = await t.engine.pool.query<{ params: { api_token: string } }>('SELECT params FROM dag_runs WHERE id = $1', [runId]);
    expect(stored.rows[0].params.api_token).toBe(SECRET);
  });
});
