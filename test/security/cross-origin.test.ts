/**
 * A cross-origin attacker in a real Chromium (issue 19): an operator is logged in; a page served by
 * a tiny http server on ANOTHER loopback port (same site: SameSite=Strict sends the cookie) tries an
 * auto-submitting form POST to /dags/<id>/pause (a guessed token, and the session's real token as
 * if it had leaked — the Origin check must hold on its own), a credentialed fetch to
 * /api/dags/<id>/pause with a guessed X-CSRF-Token, and a no-preflight fetch. Nothing changes (SQL),
 * the audit log has refused rows or none, never an ok one. A DNS-rebinding page (evil.example
 * resolved to 127.0.0.1 by Chromium) gets 421. The same browser, on the dashboard's own page, can
 * pause: the session was good all along.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DAG_ID, PASSWORDS, startServer, type Server } from './harness.ts';

let s: Server;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let attacker: http.Server;
let attackerUrl: string;
/** The attacker's pages by path, set by each test. */
const pages = new Map<string, string>();

beforeAll(async () => {
  s = await startServer({ log: pino({ level: 'silent' }) });
  attacker = http.createServer((req, res) => {
    const body = pages.get(req.url ?? '') ?? 'not found';
    res.writeHead(pages.has(req.url ?? '') ? 200 : 404, { 'content-type': 'text/html' }).end(body);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--host-resolver-rules=MAP evil.example 127.0.0.1'],
  });
  context = await browser.newContext();
  page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${s.dashboard.url}/login`);
  await page.fill('#user', 'otto');
  await page.fill('#token', PASSWORDS.otto);
  await Promise.all([page.waitForURL(`${s.dashboard.url}/`), page.click('button[type=submit]')]);
}, 90_000);

// Each attack starts from an active DAG (one that got through does not hide the next).
beforeEach(async () => {
  await s.t.database.pool.query('UPDATE dags SET paused = false, paused_by = NULL WHERE dag_id = $1', [DAG_ID]);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => attacker?.close(resolve));
  await s?.close();
});

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await s.t.database.pool.query<R>(text, values)).rows;
const paused = async () => (await sql<{ paused: boolean }>('SELECT paused FROM dags WHERE dag_id = $1', [DAG_ID]))[0].paused;
const runCount = async () => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM dag_runs'))[0].n;
/** Audit rows of state changes since `after` (written once the answer is sent: give them a moment). */
async function auditSince(after: number): Promise<Array<{ action: string; outcome: string; status: number }>> {
  await new Promise((r) => setTimeout(r, 200));
  return sql('SELECT action, outcome, status FROM audit_events WHERE id > $1 ORDER BY id', [after]);
}
const lastAuditId = async () => (await sql<{ id: number }>('SELECT coalesce(max(id), 0)::int AS id FROM audit_events'))[0].id;
const sessionCsrf = async () => (await page.locator('meta[name="csrf-token"]').getAttribute('content'))!;

/** An attacker page that posts a form to the dashboard as soon as it loads. */
const autoForm = (action: string, fields: Record<string, string>) => `<!doctype html><body>
<form method="post" action="${action}">${Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('')}</form>
<script>document.forms[0].submit()</script></body>`;

describe('a page on another loopback port', () => {
  it('cannot pause a DAG with an auto-submitting form, with a guessed token or even the real one', async () => {
    await page.goto(`${s.dashboard.url}/dags/${DAG_ID}`);
    const csrf = await sessionCsrf();
    const since = await lastAuditId();
    const runs = await runCount();
    for (const [name, fields] of [['/guessed', { _csrf: 'guessed-token' }], ['/leaked', { _csrf: csrf }], ['/trigger', { _csrf: csrf }]] as const) {
      const target = name === '/trigger' ? `${s.dashboard.url}/dags/${DAG_ID}/trigger` : `${s.dashboard.url}/dags/${DAG_ID}/pause`;
      pages.set(name, autoForm(target, fields));
      const [answer] = await Promise.all([page.waitForResponse((r) => r.url() === target), page.goto(`${attackerUrl}${name}`)]);
      expect(answer.status(), name).toBe(403);
    }
    expect(await paused()).toBe(false);
    expect(await runCount()).toBe(runs);
    const rows = await auditSince(since);
    expect(rows.map((r) => [r.action, r.outcome, r.status])).toEqual([['pause', 'refused', 403], ['pause', 'refused', 403], ['trigger', 'refused', 403]]);
  });

  it('cannot pause through a credentialed fetch of the API (guessed X-CSRF-Token), nor a simple no-cors POST', async () => {
    const since = await lastAuditId();
    const target = `${s.dashboard.url}/api/dags/${DAG_ID}/pause`;
    pages.set('/fetch', `<!doctype html><script>
      window.results = Promise.all([
        fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', headers: { 'X-CSRF-Token': 'guessed-token', 'content-type': 'application/json' }, body: '{}' })
          .then((r) => 'answered ' + r.status, (e) => 'blocked: ' + e.name),
        fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{}' })
          .then(() => 'sent', () => 'sent'),
      ]);
    </script>`);
    await page.goto(`${attackerUrl}/fetch`);
    const results = await page.evaluate(() => (window as unknown as { results: Promise<string[]> }).results);
    // The preflight of the custom header gets no CORS answer: that POST is never sent. The simple
    // one is sent with the cookie (its answer is opaque or blocked by CORP: the page learns nothing).
    expect(results).toEqual(['blocked: TypeError', 'sent']);
    expect(await paused()).toBe(false);
    const rows = await auditSince(since);
    expect(rows.map((r) => [r.action, r.outcome, r.status])).toEqual([['pause', 'refused', 403]]);
  });

  it('a DNS-rebinding page (Host evil.example on the dashboard\'s address) gets 421 and changes nothing', async () => {
    const port = new URL(s.dashboard.url).port;
    const answer = await page.goto(`http://evil.example:${port}/login`);
    expect(answer?.status()).toBe(421);
    expect(await page.content()).toContain('Host "evil.example" is not one this dashboard answers to');
    pages.set('/rebind', autoForm(`http://evil.example:${port}/dags/${DAG_ID}/pause`, { _csrf: 'guessed-token' }));
    const [posted] = await Promise.all([page.waitForResponse((r) => r.url().startsWith('http://evil.example')), page.goto(`${attackerUrl}/rebind`)]);
    expect(posted.status()).toBe(421);
    expect(await paused()).toBe(false);
  });

  it('the same browser on the dashboard\'s own page pauses the DAG (the session was good all along)', async () => {
    await page.goto(`${s.dashboard.url}/dags/${DAG_ID}`);
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith(`/dags/${DAG_ID}/pause`)), page.click('#pause-toggle')]);
    expect(answer.status()).toBe(303);
    expect(await paused()).toBe(true);
    expect((await sql<{ outcome: string }>(`SELECT outcome FROM audit_events WHERE action = 'pause' ORDER BY id DESC LIMIT 1`))[0].outcome).toBe('ok');
  });
});
