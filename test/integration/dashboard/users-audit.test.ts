/**
 * Named users, roles and the audit log (issue 19 items 4 and 5) on a real dashboard and database:
 * users log in with argon2-hashed passwords, scripts with per-user revocable tokens; a viewer reads
 * but every state change (UI, API, bull-board) is a 403 with the way out, and nothing changes (SQL);
 * an operator acts and the run records who triggered it; a new password ends the user's sessions; a
 * non-admin sees and revokes only its own sessions; DASHBOARD_AUTH=users refuses the shared token.
 * Every action and login lands in audit_events with user, role, via, address, target, redacted
 * params and outcome — also from the real `trib` CLI (`cli:<os user>`).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { secret } from '../../../engine/secret-params.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { UserStore } from '../../../dashboard/users.ts';
import { cliEnv, trib } from '../../support/cli.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { browserLogin } from './browser-login.ts';
import { z } from 'zod';

const TOKEN = 'users-audit-shared-token-0123456789';
const PASSWORDS = { vera: 'vera-password-123', otto: 'otto-password-456', ada: 'ada-password-7890' };
const dag = defineDag({
  id: 'roles_demo',
  params: { warehouseDsn: secret().default('postgres://u:dsn-secret-default@h/db'), note: z.string().default('n') },
  tasks: { a: { kind: 'noop' } },
});

let t: TestEngine;
let dashboard: Dashboard;
let users: UserStore;
const started: Dashboard[] = [];

beforeAll(async () => {
  t = await startTestEngine({ backend: 'postgres', dags: [dag], workers: false });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
  started.push(dashboard);
  users = new UserStore(t.database.pool);
  await users.add('vera', 'viewer', PASSWORDS.vera);
  await users.add('otto', 'operator', PASSWORDS.otto);
  await users.add('ada', 'admin', PASSWORDS.ada);
}, 60_000);

afterAll(async () => {
  for (const d of started) await d.close();
  await t?.close();
});

const call = (p: string, init: RequestInit = {}, base = dashboard.url) => fetch(`${base}${p}`, { redirect: 'manual', ...init });
const q = async <R extends object>(sql: string, params: unknown[] = []) => (await t.database.pool.query<R>(sql, params)).rows;
const paused = async () => (await q<{ paused: boolean }>('SELECT paused FROM dags WHERE dag_id = $1', ['roles_demo']))[0].paused;
const runCount = async () => Number((await q<{ n: string }>('SELECT count(*) AS n FROM dag_runs WHERE dag_id = $1', ['roles_demo']))[0].n);
const lastAudit = async (where = 'true', params: unknown[] = []) =>
  (await q<{ actor: string; role: string | null; via: string; action: string; target: string | null; params: Record<string, unknown> | null; outcome: string; status: number | null; address: string | null; detail: string | null }>(
    `SELECT actor, role, via, action, target, params, outcome, status, address, detail FROM audit_events WHERE ${where} ORDER BY id DESC LIMIT 1`, params))[0];
/** The audit row is written once the answer is sent: wait for it. */
async function auditRows(expected: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const n = Number((await q<{ n: string }>('SELECT count(*) AS n FROM audit_events'))[0].n);
    if (n >= expected) return n;
    await new Promise((r) => setTimeout(r, 20));
  }
  return Number((await q<{ n: string }>('SELECT count(*) AS n FROM audit_events'))[0].n);
}
const auditCount = async () => Number((await q<{ n: string }>('SELECT count(*) AS n FROM audit_events'))[0].n);

describe('named users and roles', () => {
  it('stores an argon2id hash, never the password; a wrong password is a 401 and an audited failure', async () => {
    const [row] = await q<{ password_hash: string }>('SELECT password_hash FROM dashboard_users WHERE name = $1', ['vera']);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(PASSWORDS.vera);
    const before = await auditCount();
    const res = await call('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ user: 'vera', token: 'not-her-password' }) });
    expect(res.status).toBe(401);
    await auditRows(before + 1);
    expect(await lastAudit()).toMatchObject({ actor: 'vera', role: null, via: 'ui', action: 'login', outcome: 'refused', status: 401, address: expect.stringMatching(/127\.0\.0\.1/) });
    expect(JSON.stringify(await lastAudit())).not.toContain('not-her-password');
  });

  it('a viewer reads everything but changes nothing: UI, API and bull-board writes are 403 naming the way out', async () => {
    const { cookie, csrf } = await browserLogin(dashboard.url, PASSWORDS.vera, 'vitest', 'vera');
    expect(await lastAudit("action = 'login'")).toMatchObject({ actor: 'vera', role: 'viewer', outcome: 'ok', status: 303 });
    expect((await call('/api/dags', { headers: { cookie } })).status).toBe(200);
    const dagPage = await call('/dags/roles_demo', { headers: { cookie, accept: 'text/html' } });
    expect(dagPage.status).toBe(200);
    // Its pages hide the action forms and say why.
    const dagHtml = await dagPage.text();
    expect(dagHtml).toContain('<body class="read-only">');
    expect(dagHtml).toMatch(/id="read-only">Read-only: you are signed in as vera, a viewer/);
    expect((await call('/queues/', { headers: { cookie, accept: 'text/html' } })).status).toBe(200);
    // bull-board itself shows the viewer no job buttons.
    const board = await (await call('/queues/api/queues?activeQueue=noop&page=1&jobsPerPage=10', { headers: { cookie } })).json() as { queues: Array<{ readOnlyMode: boolean }> };
    expect(board.queues.length).toBeGreaterThan(0);
    expect(board.queues.every((queue) => queue.readOnlyMode)).toBe(true);
    const json = { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    const form = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
    const attempts: Array<[string, RequestInit]> = [
      ['/api/dags/roles_demo/pause', { method: 'POST', headers: json }],
      ['/api/dags/roles_demo/runs', { method: 'POST', headers: json, body: JSON.stringify({ params: { note: 'x' } }) }],
      ['/api/dags/roles_demo/backfill', { method: 'POST', headers: json, body: JSON.stringify({ from: '2025-01-01', to: '2025-01-02' }) }],
      ['/dags/roles_demo/pause', { method: 'POST', headers: form, body: new URLSearchParams({ _csrf: csrf }) }],
      ['/dags/roles_demo/trigger', { method: 'POST', headers: form, body: new URLSearchParams({ _csrf: csrf, 'param.note': 'y' }) }],
      ['/queues/api/queues/noop/clean/completed', { method: 'PUT', headers: json }],
      ['/queues/api/queues/noop/add', { method: 'POST', headers: json, body: JSON.stringify({ name: 'x', data: {} }) }],
    ];
    const before = await auditCount();
    for (const [path, init] of attempts) {
      const res = await call(path, init);
      expect(res.status, path).toBe(403);
      expect(await res.text(), path).toContain('trib users role vera operator');
    }
    expect(await paused()).toBe(false);
    expect(await runCount()).toBe(0);
    await auditRows(before + attempts.length);
    const refused = await q<{ actor: string; outcome: string; status: number; detail: string }>(
      'SELECT actor, outcome, status, detail FROM audit_events WHERE id > (SELECT max(id) - $1 FROM audit_events) ORDER BY id', [attempts.length]);
    expect(refused.map((r) => [r.actor, r.outcome, r.status])).toEqual(attempts.map(() => ['vera', 'refused', 403]));
    expect(refused.every((r) => r.detail.includes('needs the operator role'))).toBe(true);
    // Its own sessions it may still end: logout is not an operator action.
    expect((await call('/logout', { method: 'POST', headers: form, body: new URLSearchParams({ _csrf: csrf }) })).status).toBe(303);
  });

  it('an operator acts; the run records who triggered it and the audit row has the target and redacted params', async () => {
    const { cookie, csrf } = await browserLogin(dashboard.url, PASSWORDS.otto, 'vitest', 'otto');
    const before = await auditCount();
    const res = await call('/api/dags/roles_demo/runs', {
      method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ params: { note: 'from otto', warehouseDsn: 'postgres://u:given-secret@h/db' } }),
    });
    expect(res.status).toBe(201);
    const { runId } = await res.json() as { runId: number };
    expect((await q<{ triggered_by: string }>('SELECT triggered_by FROM dag_runs WHERE id = $1', [runId]))[0].triggered_by).toBe('otto');
    const shown = await (await call(`/runs/${runId}`, { headers: { cookie, accept: 'text/html' } })).text();
    expect(shown).toMatch(/triggered by <span id="triggered-by">otto<\/span>/);
    expect(shown).not.toContain('read-only');
    await auditRows(before + 1);
    const row = await lastAudit("action = 'trigger'");
    expect(row).toMatchObject({ actor: 'otto', role: 'operator', via: 'api', target: 'dag roles_demo', outcome: 'ok', status: 201 });
    expect(row.params).toEqual({ params: { note: 'from otto', warehouseDsn: '••••••' } });
    expect(JSON.stringify(await q('SELECT * FROM audit_events'))).not.toContain('given-secret');

    // A UI pause by the same operator is recorded too, as via ui.
    const form = await call('/dags/roles_demo/pause', { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(form.status).toBeLessThan(400);
    expect(await paused()).toBe(true);
    await auditRows(before + 2);
    expect(await lastAudit()).toMatchObject({ actor: 'otto', via: 'ui', action: 'pause', target: 'dag roles_demo', outcome: 'ok' });
    await t.database.pool.query('UPDATE dags SET paused = false, paused_by = NULL WHERE dag_id = $1', ['roles_demo']);
  });

  it('per-user API tokens: act as their user, last use kept, revoked at once; a role change applies at the next request', async () => {
    const { id, token } = await users.addToken('otto', 'nightly script');
    expect(token).toMatch(/^trib_[0-9a-f]{12}_/);
    const [stored] = await q<{ secret_hash: string }>('SELECT secret_hash FROM dashboard_tokens WHERE id = $1', [id]);
    expect(stored.secret_hash).not.toContain(token.split('_')[2]);
    const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const before = await auditCount();
    expect((await call('/api/dags/roles_demo/pause', { method: 'POST', headers: bearer })).status).toBe(200);
    await auditRows(before + 1);
    expect(await lastAudit()).toMatchObject({ actor: 'otto', role: 'operator', via: 'api', action: 'pause' });
    expect((await q<{ used: boolean }>('SELECT last_used_at IS NOT NULL AS used FROM dashboard_tokens WHERE id = $1', [id]))[0].used).toBe(true);

    await users.setRole('otto', 'viewer');
    expect((await call('/api/dags/roles_demo/unpause', { method: 'POST', headers: bearer })).status).toBe(403);
    expect(await paused()).toBe(true);
    await users.setRole('otto', 'operator');
    expect((await call('/api/dags/roles_demo/unpause', { method: 'POST', headers: bearer })).status).toBe(200);

    await users.revokeToken(id);
    expect((await call('/api/dags', { headers: bearer })).status).toBe(401);
    // A token-shaped string that is not one, and the right id with a wrong secret.
    expect((await call('/api/dags', { headers: { authorization: `Bearer trib_${id}_${'A'.repeat(43)}` } })).status).toBe(401);
  });

  it('a new password ends the user\'s sessions; a removed user\'s session and tokens end with it', async () => {
    const session = await browserLogin(dashboard.url, PASSWORDS.otto, 'vitest', 'otto');
    expect((await call('/api/dags', { headers: { cookie: session.cookie } })).status).toBe(200);
    expect(await users.setPassword('otto', 'otto-new-password-1')).toBeGreaterThanOrEqual(1);
    expect((await call('/api/dags', { headers: { cookie: session.cookie } })).status).toBe(401);

    await users.add('tmp', 'operator', 'tmp-password-12345');
    const tmp = await browserLogin(dashboard.url, 'tmp-password-12345', 'vitest', 'tmp');
    const { token } = await users.addToken('tmp');
    await users.remove('tmp');
    expect((await call('/api/dags', { headers: { cookie: tmp.cookie } })).status).toBe(401);
    expect((await call('/api/dags', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('sessions page: a user sees and revokes only its own sessions; an admin sees everyone\'s', async () => {
    const vera = await browserLogin(dashboard.url, PASSWORDS.vera, 'vera-agent', 'vera');
    const ada = await browserLogin(dashboard.url, PASSWORDS.ada, 'ada-agent', 'ada');
    const veraPage = await (await call('/sessions', { headers: { cookie: vera.cookie } })).text();
    expect(veraPage).toContain('vera-agent');
    expect(veraPage).not.toContain('ada-agent');
    const adaPage = await (await call('/sessions', { headers: { cookie: ada.cookie } })).text();
    expect(adaPage).toContain('vera-agent');
    expect(adaPage).toContain('ada-agent');
    // vera posts the hash of ada's session: nothing happens to it.
    const [adaRow] = await q<{ id_hash: string }>(`SELECT id_hash FROM dashboard_sessions WHERE user_name = 'ada' AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1`);
    await call('/sessions/revoke', { method: 'POST', headers: { cookie: vera.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: vera.csrf, session: adaRow.id_hash }) });
    expect((await call('/api/dags', { headers: { cookie: ada.cookie } })).status).toBe(200);
    // /users and /api/users are the admin's.
    expect((await call('/users', { headers: { cookie: vera.cookie, accept: 'text/html' } })).status).toBe(403);
    const listed = await call('/api/users', { headers: { cookie: ada.cookie } });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { users: Array<{ name: string }> }).users.map((u) => u.name)).toEqual(['ada', 'otto', 'vera']);
  });

  it('DASHBOARD_AUTH=users refuses the shared token (bearer, basic, login form) and lets named users in', async () => {
    const only = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, usersOnly: true, log: pino({ level: 'silent' }) });
    started.push(only);
    expect((await call('/api/dags', { headers: { authorization: `Bearer ${TOKEN}` } }, only.url)).status).toBe(401);
    expect((await call('/api/dags', { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } }, only.url)).status).toBe(401);
    const form = await call('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: TOKEN }) }, only.url);
    expect(form.status).toBe(401);
    const ada = await browserLogin(only.url, PASSWORDS.ada, 'vitest', 'ada');
    expect((await call('/api/dags', { headers: { cookie: ada.cookie } }, only.url)).status).toBe(200);
  });
});

describe('the audit log', () => {
  it('is on a page, in the API (filtered, paged) and printed by `trib audit`; CLI actions are recorded as cli:<user>', async () => {
    const env = cliEnv({ DATABASE_URL: t.database.url, QUEUE_BACKEND: 'postgres', DAGS_DIR: 'schedules' });
    const added = await trib(['users', 'add', 'carl', 'operator'], env);
    expect(added.code, added.stderr).toBe(0);
    const password = /password (\S+)/.exec(added.stdout)?.[1];
    expect(password).toBeTruthy();
    expect(await users.verifyPassword('carl', password!)).toEqual({ name: 'carl', role: 'operator' });
    const made = await trib(['tokens', 'add', 'carl', '--label', 'ci'], env);
    expect(made.stdout).toMatch(/token [0-9a-f]{12} for carl: trib_/);
    const bad = await trib(['users', 'role', 'nobody', 'admin'], env);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, expect.stringContaining('no user "nobody"')]);
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const cliRows = await q<{ actor: string; via: string; action: string; target: string; outcome: string }>(
      `SELECT actor, via, action, target, outcome FROM audit_events WHERE via = 'cli' ORDER BY id`);
    expect(cliRows.map((r) => [r.action, r.target, r.outcome])).toEqual([['users.add', 'user carl', 'ok'], ['tokens.add', 'user carl', 'ok'], ['users.role', 'user nobody', 'failed']]);
    expect(cliRows.every((r) => /^cli:\S+$/.test(r.actor))).toBe(true);

    const { cookie } = await browserLogin(dashboard.url, PASSWORDS.ada, 'vitest', 'ada');
    const api = await call('/api/audit?action=trigger&limit=5', { headers: { cookie } });
    const rows = await api.json() as Array<{ actor: string; action: string }>;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.action === 'trigger')).toBe(true);
    const page = await (await call('/audit?actor=vera', { headers: { cookie, accept: 'text/html' } })).text();
    expect(page).toContain('needs the operator role');
    expect(page).not.toContain('otto-password');

    const printed = await trib(['audit', '--user', 'otto', '--limit', '3'], env);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout.split('\n')[0]).toMatch(/^ID\s+AT\s+USER/);
    expect(printed.stdout).toMatch(/otto \(operator\)/);
  });
});
