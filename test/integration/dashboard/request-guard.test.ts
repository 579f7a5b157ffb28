/**
 * The dashboard's request guards on a real server (issue 19): a state change from another origin
 * (another port of 127.0.0.1, `Sec-Fetch-Site: same-site`) is refused even with a valid session and
 * CSRF token, bull-board included; a foreign Host is refused until listed; a non-loopback bind with
 * auth off needs the explicit switch; failed logins are limited and logged; a too-large login body
 * gets one line of ours, no stack. Pause state is read back from Postgres.
 */
import http from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { loadConfig } from '../../../engine/config.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { browserLogin } from './browser-login.ts';

const TOKEN = 'guard-test-token-0123456789';
const dag = defineDag({ id: 'guard_demo', tasks: { a: { kind: 'noop' } } });

let t: TestEngine;
let dashboard: Dashboard;
const started: Dashboard[] = [];
const logLines: string[] = [];
const log = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });

beforeAll(async () => {
  t = await startTestEngine({ backend: 'postgres', dags: [dag], workers: false });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log });
}, 60_000);

afterAll(async () => {
  for (const d of started) await d.close();
  await dashboard?.close();
  await t?.close();
});

const call = (base: string, p: string, init: RequestInit = {}) => fetch(`${base}${p}`, { redirect: 'manual', ...init });
const paused = async () => (await t.database.pool.query<{ paused: boolean }>('SELECT paused FROM dags WHERE dag_id = $1', ['guard_demo'])).rows[0]?.paused;

async function login(base: string): Promise<{ cookie: string; csrf: string }> {
  return browserLogin(base, TOKEN);
}

/** A raw request with a Host header of our choosing (fetch would set its own). */
function withHost(port: number, host: string, path = '/login'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('Origin and Sec-Fetch-Site on state changes', () => {
  it('refuses a pause from another port of the same host or a same-site page, with a valid session and CSRF token; accepts its own origin', async () => {
    await t.database.pool.query('UPDATE dags SET paused = false, paused_by = NULL WHERE dag_id = $1', ['guard_demo']);
    const { cookie, csrf } = await login(dashboard.url);
    const foreign = `http://127.0.0.1:${dashboard.port === 5645 ? 5646 : 5645}`;
    const pause = (headers: Record<string, string>) => call(dashboard.url, '/dags/guard_demo/pause', {
      method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ _csrf: csrf }),
    });

    const cross = await pause({ origin: foreign });
    expect(cross.status).toBe(403);
    const body = (await cross.json()) as { error: string; message: string };
    expect(body.error).toBe('ORIGIN_REFUSED');
    expect(body.message).toContain(foreign);
    expect(await paused()).toBe(false);

    expect((await pause({ 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await pause({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await call(dashboard.url, '/api/dags/guard_demo/pause', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: foreign } })).status).toBe(403);
    expect(await paused()).toBe(false);

    // Chromium's own form posts under Referrer-Policy no-referrer: Origin null, Sec-Fetch-Site same-origin.
    expect((await pause({ origin: 'null', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(await paused()).toBe(false);
    const own = await pause({ origin: dashboard.url, 'sec-fetch-site': 'same-origin' });
    expect(own.status).toBe(303);
    expect(await paused()).toBe(true);
    const unpause = await call(dashboard.url, '/dags/guard_demo/unpause', {
      method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin' }, body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(unpause.status).toBe(303);
    expect(await paused()).toBe(false);
  });

  it('refuses a bull-board write and a login from a foreign Origin', async () => {
    const { cookie, csrf } = await login(dashboard.url);
    const board = await call(dashboard.url, '/queues/api/queues/noop/pause', { method: 'PUT', headers: { cookie, 'x-csrf-token': csrf, origin: 'http://127.0.0.1:1' } });
    expect(board.status).toBe(403);
    expect(((await board.json()) as { error: string }).error).toBe('ORIGIN_REFUSED');
    const loginCsrf = await call(dashboard.url, '/login', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' }, body: new URLSearchParams({ token: TOKEN }),
    });
    expect(loginCsrf.status).toBe(403);
  });
});

describe('Host allowlist', () => {
  it('refuses a Host that is not listed (DNS rebinding), accepts the loopback names and a listed one', async () => {
    const refused = await withHost(dashboard.port, `evil.example:${dashboard.port}`);
    expect(refused.status).toBe(421);
    expect(refused.body).toMatch(/^Host "evil\.example" .*DASHBOARD_ALLOWED_HOSTS/);
    expect(refused.body.trim().split('\n')).toHaveLength(1);
    for (const host of [`127.0.0.1:${dashboard.port}`, `localhost:${dashboard.port}`, '[::1]']) expect((await withHost(dashboard.port, host)).status).toBe(200);

    const listed = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log, allowedHosts: 'evil.example, 127.0.0.1' });
    started.push(listed);
    expect((await withHost(listed.port, `evil.example:${listed.port}`)).status).toBe(200);
    expect((await withHost(listed.port, 'localhost')).status).toBe(421);
    const viaPublic = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log, publicUrl: 'https://trib.example.com' });
    started.push(viaPublic);
    expect((await withHost(viaPublic.port, 'trib.example.com')).status).toBe(200);
    expect(loadConfig({ DASHBOARD_ALLOWED_HOSTS: 'a.example,b.example' }).DASHBOARD_ALLOWED_HOSTS).toBe('a.example,b.example');
  });
});

describe('exposure', () => {
  it('refuses a non-loopback bind with auth off unless DASHBOARD_EXPOSE_UNAUTHENTICATED; prints the address really bound', async () => {
    const open = startDashboard({ engine: t.engine, host: '0.0.0.0', port: 0, token: null, log });
    await expect(open).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(open).rejects.toThrow(/DASHBOARD_HOST=0\.0\.0\.0 with DASHBOARD_AUTH=off.*DASHBOARD_EXPOSE_UNAUTHENTICATED=true/);
    expect(loadConfig({ DASHBOARD_EXPOSE_UNAUTHENTICATED: 'true' }).DASHBOARD_EXPOSE_UNAUTHENTICATED).toBe(true);
    expect(loadConfig({}).DASHBOARD_EXPOSE_UNAUTHENTICATED).toBe(false);

    const exposed = await startDashboard({ engine: t.engine, host: '0.0.0.0', port: 0, token: null, log, exposeUnauthenticated: true });
    started.push(exposed);
    expect(exposed.listening).toBe(`0.0.0.0:${exposed.port} (all interfaces)`);
    expect((await call(exposed.url, '/api/dags')).status).toBe(200);
    const loopback = await startDashboard({ engine: t.engine, host: '127.0.0.1', port: 0, token: null, log });
    started.push(loopback);
    expect(loopback.listening).toBe(`127.0.0.1:${loopback.port}`);
  });
});

describe('login hardening', () => {
  it('locks an address out after 10 failed logins (429, Retry-After, one warn line), even for the right token', async () => {
    const own = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log });
    started.push(own);
    const attempt = (token: string) => call(own.url, '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await attempt(`wrong-token-${i}-0123456789`)).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
    const locked = await attempt(TOKEN);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const warns = logLines.filter((l) => l.includes('dashboard login locked'));
    expect(warns).toHaveLength(1);
    expect(JSON.parse(warns[0])).toMatchObject({ address: expect.stringMatching(/127\.0\.0\.1/), failures: 10 });
    // Another dashboard (its own limiter) still signs in: the lockout is per address and server.
    expect((await call(dashboard.url, '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: TOKEN }) })).status).toBe(303);
  });

  it('answers a 20 kB login body with one line of 413 and an odd charset with 415, never a stack', async () => {
    const big = await call(dashboard.url, '/login', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${'x'.repeat(20_000)}`,
    });
    expect(big.status).toBe(413);
    const text = await big.text();
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toMatch(/^POST \/login: .*larger than this route accepts/);
    expect(text).not.toMatch(/ at |node_modules|\/work\/|<pre>/);
    const charset = await call(dashboard.url, '/login', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-7' }, body: 'token=abc',
    });
    expect(charset.status).toBe(415);
    const line = await charset.text();
    expect(line.trim().split('\n')).toHaveLength(1);
    expect(line).not.toMatch(/ at |node_modules|\/work\//);
  });
});
