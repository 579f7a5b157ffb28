/**
 * Dashboard sessions in the database (issue 19): after logout the old cookie reads nothing and
 * pauses nothing; idle- and absolute-expired sessions are refused; a new DASHBOARD_TOKEN ends every
 * session; a POST with one session's cookie and another's CSRF token is refused; the sessions page
 * lists the logins and revokes one or all others; every cookie is HttpOnly and none holds the CSRF
 * token; Bearer stays stateless. Real server, real HTTP; state read back from Postgres.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../engine/config.ts';
import { defineDag } from '../../../engine/dag.ts';
import { startDashboard, type Dashboard, type DashboardOptions } from '../../../dashboard/server.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { browserLogin, pageCsrf } from './browser-login.ts';

const TOKEN = 'sessions-test-token-0123456789';
const IDLE_MS = 60 * 60_000;
const MAX_AGE_MS = 3 * 60 * 60_000;
const dag = defineDag({ id: 'session_demo', tasks: { a: { kind: 'noop' } } });

let t: TestEngine;
let dashboard: Dashboard;
const started: Dashboard[] = [];
const log = pino({ level: 'silent' });

async function start(options: Partial<DashboardOptions> = {}): Promise<Dashboard> {
  const d = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log, sessionIdleMs: IDLE_MS, sessionMaxAgeMs: MAX_AGE_MS, ...options });
  started.push(d);
  return d;
}

beforeAll(async () => {
  t = await startTestEngine({ backend: 'postgres', dags: [dag], workers: false });
  dashboard = await start();
}, 60_000);

afterAll(async () => {
  for (const d of started) await d.close();
  await t?.close();
});

const call = (base: string, p: string, init: RequestInit = {}) => fetch(`${base}${p}`, { redirect: 'manual', ...init });
const apiDags = (base: string, cookie: string) => call(base, '/api/dags', { headers: { cookie, accept: 'application/json' } });
const pause = (base: string, cookie: string, csrf: string) => call(base, '/api/dags/session_demo/pause', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
const paused = async () => (await t.database.pool.query<{ paused: boolean }>('SELECT paused FROM dags WHERE dag_id = $1', ['session_demo'])).rows[0]?.paused;
const unpause = () => t.database.pool.query('UPDATE dags SET paused = false, paused_by = NULL WHERE dag_id = $1', ['session_demo']);
/** The stored hash of a session cookie (`tributary_session=<id>`). */
const idHash = (cookie: string) => createHash('sha256').update(/tributary_session=([^;]+)/.exec(cookie)![1]).digest('hex');
const row = async (cookie: string) =>
  (await t.database.pool.query<{ revoked: boolean; idle: number; max: number; last_seen_at: Date; idle_expires_at: Date }>(
    `SELECT revoked_at IS NOT NULL AS revoked, extract(epoch FROM idle_expires_at - created_at) * 1000 AS idle,
            extract(epoch FROM expires_at - created_at) * 1000 AS max, last_seen_at, idle_expires_at
     FROM dashboard_sessions WHERE id_hash = $1`, [idHash(cookie)])).rows[0];

describe('dashboard sessions', () => {
  it('after logout the old cookie neither reads /api/dags nor pauses a DAG', async () => {
    await unpause();
    const { cookie, csrf } = await browserLogin(dashboard.url, TOKEN);
    expect((await apiDags(dashboard.url, cookie)).status).toBe(200);
    const out = await call(dashboard.url, '/logout', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(out.status).toBe(303);
    expect((await row(cookie)).revoked).toBe(true);
    expect((await apiDags(dashboard.url, cookie)).status).toBe(401);
    expect((await call(dashboard.url, '/', { headers: { cookie, accept: 'text/html' } })).headers.get('location')).toMatch(/^\/login/);
    expect((await pause(dashboard.url, cookie, csrf)).status).toBe(401);
    expect(await paused()).toBe(false);
  });

  it('stores the configured idle and absolute limits, and refuses a session past either', async () => {
    const idle = await browserLogin(dashboard.url, TOKEN);
    const stored = await row(idle.cookie);
    expect([Math.round(stored.idle), Math.round(stored.max)]).toEqual([IDLE_MS, MAX_AGE_MS]);
    await t.database.pool.query(`UPDATE dashboard_sessions SET idle_expires_at = now() - interval '1 second' WHERE id_hash = $1`, [idHash(idle.cookie)]);
    expect((await apiDags(dashboard.url, idle.cookie)).status).toBe(401);
    expect((await pause(dashboard.url, idle.cookie, idle.csrf)).status).toBe(401);

    const old = await browserLogin(dashboard.url, TOKEN);
    expect((await apiDags(dashboard.url, old.cookie)).status).toBe(200);
    await t.database.pool.query(`UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1`, [idHash(old.cookie)]);
    expect((await apiDags(dashboard.url, old.cookie)).status).toBe(401);
    expect(await paused()).toBe(false);
  });

  it('moves last_seen_at and the idle expiry on when last seen over a minute ago, not on every request', async () => {
    const { cookie } = await browserLogin(dashboard.url, TOKEN);
    await t.database.pool.query(
      `UPDATE dashboard_sessions SET last_seen_at = now() - interval '5 minutes', idle_expires_at = now() + interval '1 minute' WHERE id_hash = $1`, [idHash(cookie)]);
    expect((await apiDags(dashboard.url, cookie)).status).toBe(200);
    const touched = await row(cookie);
    expect(Date.now() - touched.last_seen_at.getTime()).toBeLessThan(10_000);
    expect(touched.idle_expires_at.getTime() - touched.last_seen_at.getTime()).toBeGreaterThan(IDLE_MS - 1000);
    expect((await apiDags(dashboard.url, cookie)).status).toBe(200);
    expect((await row(cookie)).last_seen_at).toEqual(touched.last_seen_at);
  });

  it('a new DASHBOARD_TOKEN ends every existing session', async () => {
    const { cookie } = await browserLogin(dashboard.url, TOKEN);
    const rotated = await start({ token: 'sessions-test-token-ROTATED-987' });
    expect((await apiDags(rotated.url, cookie)).status).toBe(401);
    expect((await apiDags(dashboard.url, cookie)).status).toBe(200);
  });

  it("refuses a POST with the session's cookie and another session's CSRF token", async () => {
    await unpause();
    const a = await browserLogin(dashboard.url, TOKEN);
    const b = await browserLogin(dashboard.url, TOKEN);
    expect(a.csrf).not.toBe(b.csrf);
    expect((await pause(dashboard.url, a.cookie, b.csrf)).status).toBe(403);
    const form = await call(dashboard.url, '/dags/session_demo/pause', {
      method: 'POST', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: b.csrf }),
    });
    expect(form.status).toBe(403);
    expect(await paused()).toBe(false);
    expect((await pause(dashboard.url, a.cookie, a.csrf)).status).toBe(200);
    expect(await paused()).toBe(true);
    await unpause();
  });

  it('the sessions page lists each login, revokes one, and signs out everywhere else', async () => {
    // Its own token: only this test's sessions match it.
    const own = await start({ token: 'sessions-page-token-0123456789' });
    const token = 'sessions-page-token-0123456789';
    const a = await browserLogin(own.url, token, 'agent-A/1.0');
    const b = await browserLogin(own.url, token, 'agent-B/2.0');
    const page = async () => (await call(own.url, '/sessions', { headers: { cookie: a.cookie } })).text();
    const first = await page();
    expect(first.match(/<tr[ >]/g)!.length - 1).toBe(2);
    expect(first).toContain('agent-A/1.0');
    expect(first).toContain('agent-B/2.0');
    expect(first.match(/<strong>this session<\/strong>/g)!.length).toBe(1);
    expect(first).toMatch(/<tr class="current">[^]*?agent-A\/1\.0/);
    expect(first).toContain('href="/sessions"');

    const revoke = await call(own.url, '/sessions/revoke', {
      method: 'POST', headers: { cookie: a.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: a.csrf, session: idHash(b.cookie) }),
    });
    expect(revoke.status).toBe(303);
    expect((await apiDags(own.url, b.cookie)).status).toBe(401);
    expect((await apiDags(own.url, a.cookie)).status).toBe(200);
    expect((await page()).match(/<tr[ >]/g)!.length - 1).toBe(1);

    const c = await browserLogin(own.url, token, 'agent-C/3.0');
    const d = await browserLogin(own.url, token, 'agent-D/4.0');
    const others = await call(own.url, '/sessions/revoke', { method: 'POST', headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/x-www-form-urlencoded' }, body: 'others=1' });
    expect(others.status).toBe(303);
    expect((await apiDags(own.url, c.cookie)).status).toBe(401);
    expect((await apiDags(own.url, d.cookie)).status).toBe(401);
    expect((await apiDags(own.url, a.cookie)).status).toBe(200);
  });

  it('every cookie is HttpOnly and none holds the CSRF token; the pages carry it in a meta tag', async () => {
    const { setCookies, cookie, csrf } = await browserLogin(dashboard.url, TOKEN);
    const page = await call(dashboard.url, '/', { headers: { cookie } });
    const open = await start({ token: null });
    const anonymous = await call(open.url, '/');
    const all = [...setCookies, ...page.headers.getSetCookie(), ...anonymous.headers.getSetCookie()];
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const c of all) expect(c).toMatch(/; HttpOnly/);
    expect(all.join('\n')).not.toMatch(/XSRF-TOKEN/i);
    expect(all.join('\n')).not.toContain(csrf);
    // Auth off: the token is made from the HttpOnly nonce cookie, never equal to it.
    const nonceCookie = anonymous.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const openCsrf = await pageCsrf(open.url, nonceCookie);
    expect(nonceCookie).not.toContain(openCsrf);
    await unpause();
    expect((await pause(open.url, '', openCsrf)).status).toBe(403);
    expect((await pause(open.url, nonceCookie, openCsrf)).status).toBe(200);
    expect(await paused()).toBe(true);
    await unpause();
  });

  it('Bearer stays stateless: no session row, no cookie', async () => {
    const count = async () => Number((await t.database.pool.query('SELECT count(*) FROM dashboard_sessions')).rows[0].count);
    const before = await count();
    const res = await call(dashboard.url, '/api/dags', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await count()).toBe(before);
  });

  it('DASHBOARD_SESSION_IDLE / _MAX_AGE take a number and a unit', () => {
    const config = loadConfig({ DASHBOARD_SESSION_IDLE: '30m', DASHBOARD_SESSION_MAX_AGE: '2d' });
    expect([config.DASHBOARD_SESSION_IDLE, config.DASHBOARD_SESSION_MAX_AGE]).toEqual([30 * 60_000, 2 * 86_400_000]);
    expect(loadConfig({}).DASHBOARD_SESSION_IDLE).toBe(12 * 3_600_000);
    expect(() => loadConfig({ DASHBOARD_SESSION_MAX_AGE: '7 days' })).toThrow(/DASHBOARD_SESSION_MAX_AGE: must be a whole number and a unit/);
  });
});
