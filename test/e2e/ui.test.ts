/**
 * The web UI in a real headless Chromium (Debian's `chromium`, installed by
 * test/support/ensure-redis.mjs; CHROMIUM_PATH overrides) driven by playwright-core, after a real
 * W1 run of the fixture: login, home strips, run page row counts (fixture truth), refused-rows
 * filter (fixture README), trigger and clear through the forms, CSRF. Screenshots: test-output/ui/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../dashboard/server.ts';
import { UserStore } from '../../dashboard/users.ts';
import { startW1Run, W1_FIXTURES, type W1Run } from '../integration/dashboard/w1-run.ts';

const TOKEN = 'ui-browser-token-0123456789';
const SHOTS = path.resolve(import.meta.dirname, '../../test-output/ui');

let w1: W1Run;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  await fs.mkdir(SHOTS, { recursive: true });
  w1 = await startW1Run();
  dashboard = await startDashboard({ engine: w1.t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (dialog) => void dialog.accept());
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await w1?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
const sql = async <R extends object>(text: string, values: unknown[] = []) => (await w1.t.database.pool.query<R>(text, values)).rows;

describe('web UI in Chromium', () => {
  it('sends a visitor without a session to the login page, then logs in with the token', async () => {
    await page.goto(`${dashboard.url}/runs/${w1.runId}`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot('login');
    await page.fill('#token', 'not-the-token-at-all');
    await page.click('button[type=submit]');
    await expect(page.locator('[role=alert]').textContent()).resolves.toMatch(/not the dashboard token/);
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe(`/runs/${w1.runId}`);
    expect(await page.content()).not.toContain(TOKEN);
  });

  it('home shows the four DAGs, W1 with its run in the strip', async () => {
    await page.goto(`${dashboard.url}/`);
    const dags = await page.locator('tr[data-dag]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-dag')));
    expect(dags.sort()).toEqual(['credit_platform', 'customer_ratings', 'merchant_activity', 'transactions_api']);
    const strip = page.locator('tr[data-dag="customer_ratings"] .strip a');
    expect(await strip.count()).toBe(1);
    expect(await strip.first().getAttribute('class')).toBe('s-success');
    await shot('home');
    await strip.first().click();
    expect(new URL(page.url()).pathname).toBe(`/runs/${w1.runId}`);
  });

  it('run page lists each file with the fixture\'s loaded / refused counts', async () => {
    await page.goto(`${dashboard.url}/runs/${w1.runId}`);
    for (const f of w1.truth.files) {
      const row = page.locator(`#files tr[data-file="${f.file}"]`);
      expect(await row.locator('td.read').textContent()).toBe(String(f.rows));
      expect(await row.locator('td.loaded').textContent()).toBe(String(f.valid));
      expect(await row.locator('td.refused').textContent()).toBe(String(f.rejected));
    }
    expect(await page.locator('#files tbody tr').count()).toBe(w1.truth.files.length);
    await shot('run');
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('run-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('the refused-rows browser filters by rule', async () => {
    await page.locator('#files td.refused a').first().click();
    const total = w1.truth.files.reduce((n, f) => n + f.rejected, 0);
    expect(await page.locator('#refused-total').textContent()).toBe(String(total));
    expect(await page.locator('#rules option').evaluateAll((o) => o.map((x) => x.getAttribute('value')))).toEqual(['field_count', 'max_length', 'min', 'required', 'type']);
    await page.fill('input[name=rule]', 'type');
    await page.click('form[role=search] button');
    // README: rating not an integer on acme lines 7 and 15, globex line 5.
    const lines = await page.locator('#refused tbody tr').evaluateAll((rows) =>
      rows.map((r) => `${r.children[0].textContent}:${r.children[1].textContent}`).sort());
    expect(lines).toEqual(['acme_20250513.csv:15', 'acme_20250513.csv:7', 'globex_20250513.csv:5']);
    expect(await page.locator('#refused-total').textContent()).toBe('3');
    await shot('refused');
  });

  it('a click on "Trigger run" creates a run that runs', async () => {
    for (const f of w1.truth.files) await fs.copyFile(path.join(W1_FIXTURES, f.file), path.join(w1.params.dataDir, f.file.replace('20250513', '20250515')));
    await page.goto(`${dashboard.url}/dags/customer_ratings`);
    await shot('dag');
    await page.fill('form.trigger input[name=date]', '2025-05-15');
    await page.locator('form.trigger details.raw-params summary').click();
    await page.fill('form.trigger textarea[name=params]', 'not json');
    await page.click('form.trigger button[type=submit]');
    expect(await page.locator('.flash').textContent()).toMatch(/params are not valid JSON/);
    expect(await page.locator('form.trigger details.raw-params .field-error').textContent()).toMatch(/params are not valid JSON/);
    // The date typed stays; the fields take the params.
    expect(await page.inputValue('form.trigger input[name=date]')).toBe('2025-05-15');
    await page.fill('form.trigger textarea[name=params]', '');
    await page.fill('form.trigger input[name="param.dataDir"]', w1.params.dataDir);
    await page.fill('form.trigger input[name="param.reportDir"]', w1.params.reportDir);
    await page.click('form.trigger button[type=submit]');
    const runId = Number(/\/runs\/(\d+)$/.exec(page.url())?.[1]);
    expect(await sql('SELECT logical_date::date::text AS d FROM dag_runs WHERE id = $1', [runId])).toEqual([{ d: '2025-05-15' }]);
    expect(await page.locator('.flash').textContent()).toBe(`Run ${runId} created and started.`);
    expect(await w1.t.waitForRun(runId)).toBe('success');
    await page.goto(`${dashboard.url}/dags/customer_ratings`);
    expect(await page.locator('#grid thead th.run').count()).toBe(2);
    await shot('dag-grid');
  });

  it('"clear" on a task re-runs it', async () => {
    const attempts = () => sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id WHERE ti.run_id = $1 AND ti.task_id = 'report'`, [w1.runId]);
    expect(await attempts()).toEqual([{ n: 1 }]);
    await page.goto(`${dashboard.url}/runs/${w1.runId}`);
    await page.click('button[aria-label="clear report"]');
    expect(await page.locator('.flash').textContent()).toBe('Cleared report.');
    expect(await w1.t.waitForRun(w1.runId)).toBe('success');
    expect(await attempts()).toEqual([{ n: 2 }]);
  });

  it('a POST without the CSRF token is refused with 403, even with the session cookie', async () => {
    const status = await page.evaluate(async () => (await fetch('/dags/customer_ratings/pause', { method: 'POST' })).status);
    expect(status).toBe(403);
    expect(await sql(`SELECT paused FROM dags WHERE dag_id = 'customer_ratings'`)).toEqual([{ paused: false }]);
  });

  it("bull-board's page sends the session's CSRF token on its own requests; script reads no cookie", async () => {
    await page.goto(`${dashboard.url}/queues`);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.locator('meta[name="csrf-token"]').count()).toBe(1);
    const xhrStatus = () => page.evaluate(() => new Promise<number>((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', '/queues/api/queues/nope/pause');
      xhr.onload = () => resolve(xhr.status);
      xhr.send();
    }));
    expect(await xhrStatus()).toBe(404);
    const fetchStatus = await page.evaluate(async () => (await fetch('/queues/api/queues/nope/pause', { method: 'PUT' })).status);
    expect(fetchStatus).toBe(404);
    // Without board-csrf.js (a UI page) the same request carries no token and is refused.
    await page.goto(`${dashboard.url}/`);
    expect(await xhrStatus()).toBe(403);
  });

  it('a new browser without the token only sees the login page', async () => {
    const other = await browser.newPage();
    await other.goto(`${dashboard.url}/dags/customer_ratings`);
    expect(new URL(other.url()).pathname).toBe('/login');
    expect(await other.locator('#token').count()).toBe(1);
    await other.close();
  });

  it('a viewer signs in with a name and password and sees pages without action buttons, bull-board without job buttons', async () => {
    await new UserStore(w1.t.database.pool).add('vera', 'viewer', 'vera-password-123');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewer = await context.newPage();
    await viewer.goto(`${dashboard.url}/dags/customer_ratings`);
    await viewer.fill('#user', 'vera');
    await viewer.fill('#token', 'vera-password-123');
    await viewer.click('button[type=submit]');
    expect(new URL(viewer.url()).pathname).toBe('/dags/customer_ratings');
    await expect(viewer.locator('#read-only').textContent()).resolves.toMatch(/signed in as vera, a viewer/);
    // The trigger form and the pause toggle are in the page but not shown; logging out is.
    expect(await viewer.locator('form[method=post]').count()).toBeGreaterThan(1);
    const shown = await viewer.locator('form[method=post]').evaluateAll((forms) => forms.filter((f) => (f as HTMLElement).offsetParent !== null).map((f) => f.getAttribute('action')));
    expect(shown).toEqual(['/logout']);
    await viewer.screenshot({ path: path.join(SHOTS, 'viewer-dag.png'), fullPage: true });
    await viewer.goto(`${dashboard.url}/queues/queue/load`);
    await viewer.waitForLoadState('networkidle');
    await viewer.waitForSelector('text=/completed/i', { timeout: 15_000 });
    await viewer.screenshot({ path: path.join(SHOTS, 'viewer-queues.png'), fullPage: true });
    const board = await viewer.evaluate(async () => (await (await fetch('/queues/api/queues?activeQueue=load&page=1&jobsPerPage=10')).json()) as { queues: Array<{ readOnlyMode: boolean }> });
    expect(board.queues.every((q) => q.readOnlyMode)).toBe(true);
    await context.close();
  });
});
