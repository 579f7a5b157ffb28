/**
 * An operator's first hour, through the real processes: a fresh `trib standalone` with the shipped
 * DAGs creates no run in the user's database; `trib trigger credit_platform` on a folder of undated
 * extracts, without --date, starts at once and succeeds (rows counted against the generator's
 * truth); a second trigger queued behind a run whose sensor waits says why — in the CLI and on the
 * run page in Chromium. Screenshots: test-output/ui/first-hour-*.png.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateCreditPlatform, type W2Truth } from '../../samples/w2-credit-platform.ts';
import { expectedRowCounts, tableRowCounts } from '../integration/db/credit-platform.ts';
import { cliEnv, spawnTrib, trib } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-output/ui');
const TOKEN = 'first-hour-token-0123456789';
const ENGINE = 'tributary';

let home: string;
let database: TestDatabase;
let standalone: ReturnType<typeof spawnTrib>;
let url: string;
let env: NodeJS.ProcessEnv;
let extracts: string;
let truth: W2Truth;
let browser: Browser;
let page: Page;

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await database.pool.query<R>(text, values)).rows;

/** Renames `<table>_YYYYMMDD.csv` to `<table>.csv`: the extracts an operator is handed, undated. */
async function undate(dir: string): Promise<number> {
  let n = 0;
  for (const name of await fs.readdir(dir)) {
    const m = /^(.+)_\d{8}\.csv$/.exec(name);
    if (!m) continue;
    await fs.rename(path.join(dir, name), path.join(dir, `${m[1]}.csv`));
    n++;
  }
  return n;
}

async function runState(runId: number, timeoutMs: number, until: (state: string) => boolean): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ state: string }>(`SELECT state FROM ${ENGINE}.dag_runs WHERE id = $1`, [runId]);
    if (until(row.state) || Date.now() > deadline) return row.state;
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  await fs.mkdir(SHOTS, { recursive: true });
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-first-hour-'));
  extracts = path.join(home, 'data', 'extract');
  truth = await generateCreditPlatform({ dir: extracts, seed: 7, size: 0.02, days: 1, startDate: '2025-05-13' });
  expect(await undate(extracts)).toBe(10);
  database = await createTestDatabase({ schema: ENGINE });
  env = cliEnv({
    DATABASE_URL: database.url, QUEUE_BACKEND: 'postgres', TRIBUTARY_HOME: home, DASHBOARD_PORT: '0', DASHBOARD_TOKEN: TOKEN,
    DATA_ROOTS: path.join(home, 'data'), SWEEP_INTERVAL_MS: '1000', LOG_LEVEL: 'warn',
  });
  standalone = spawnTrib(['standalone'], env);
  url = (await standalone.waitFor(/^ready: dashboard (http:\/\/127\.0\.0\.1:\d+)$/m, 120_000))[1];
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (standalone && standalone.child.exitCode === null) {
    standalone.child.kill('SIGINT');
    await standalone.exited;
  }
  await database?.drop();
  if (home) await fs.rm(home, { recursive: true, force: true });
});

it('a fresh standalone schedules nothing in the user\'s database and says its DAGs start paused', async () => {
  expect(standalone.out()).toMatch(/4 DAG\(s\) from \S+: 4 paused/);
  const dags = await sql<{ dag_id: string; paused: boolean; paused_by: string | null }>(
    `SELECT dag_id, paused, paused_by FROM ${ENGINE}.dags ORDER BY dag_id`);
  expect(dags.map((d) => d.dag_id)).toEqual(['credit_platform', 'customer_ratings', 'merchant_activity', 'transactions_api']);
  expect(dags.every((d) => d.paused && d.paused_by === 'creation')).toBe(true);
  expect(await sql(`SELECT id FROM ${ENGINE}.dag_runs`)).toEqual([]);
});

it('a trigger of W2 on undated extracts, without --date, starts within 5 s and loads the generator\'s truth', { timeout: 180_000 }, async () => {
  const params = JSON.stringify({ dataDir: extracts, filePattern: '{table}.csv', reportDir: path.join(home, 'data', 'reports') });
  const r = await trib(['trigger', 'credit_platform', '--params', params], env, 60_000);
  expect(r.code, r.stderr).toBe(0);
  const runId = Number(/^run (\d+) of credit_platform/m.exec(r.stdout)?.[1]);
  expect(runId).toBeGreaterThan(0);
  expect(r.stdout).not.toMatch(/already exists/);
  const [started] = await sql<{ wait_ms: number }>(
    `SELECT EXTRACT(EPOCH FROM (started_at - created_at)) * 1000 AS wait_ms FROM ${ENGINE}.dag_runs WHERE id = $1`, [runId]);
  expect(Number(started.wait_ms)).toBeLessThan(5000);
  expect(await runState(runId, 150_000, (s) => s === 'success' || s === 'failed')).toBe('success');
  expect(await tableRowCounts(database.pool)).toEqual(expectedRowCounts(truth.extracts[0]));
});

it('a trigger behind a waiting run says what it waits for, in the CLI and on the run page', { timeout: 120_000 }, async () => {
  // A run for a day whose dated extracts never come: its sensor waits (6 h deadline), holding maxActiveRuns 1.
  const dataDir = JSON.stringify({ dataDir: path.join(home, 'data', 'nothing') });
  await fs.mkdir(path.join(home, 'data', 'nothing'));
  const waiting = await trib(['trigger', 'credit_platform', '--date', '2026-12-06', '--params', dataDir], env, 60_000);
  expect(waiting.code, waiting.stderr).toBe(0);
  const waitingId = Number(/^run (\d+)/m.exec(waiting.stdout)?.[1]);
  expect(await runState(waitingId, 30_000, (s) => s === 'running')).toBe('running');

  const behind = await trib(['trigger', 'credit_platform', '--params', dataDir], env, 60_000);
  expect(behind.code, behind.stderr).toBe(0);
  const behindId = Number(/^run (\d+)/m.exec(behind.stdout)?.[1]);
  expect(behind.stdout).toContain(`waiting for run ${waitingId} (maxActiveRuns 1)`);
  const shown = await trib(['run', 'show', String(behindId)], env, 60_000);
  expect(shown.stdout).toMatch(new RegExp(`queued: waiting for run ${waitingId} \\(maxActiveRuns 1\\), whose task extracts is waiting for 10 files matching`));

  await page.goto(`${url}/login`);
  await page.fill('#token', TOKEN);
  await page.click('button[type=submit]');
  await page.goto(`${url}/runs/${behindId}`);
  const text = await page.locator('body').innerText();
  expect(text).toContain(`waiting for run ${waitingId} (maxActiveRuns 1)`);
  expect(text).toMatch(/whose task extracts is waiting for 10 files matching \{table\}_20261206\.csv/);
  await page.screenshot({ path: path.join(SHOTS, 'first-hour-waiting.png'), fullPage: true });

  // The way out the page names: end the waiting run; the queued one starts.
  const marked = await trib(['task', 'mark', String(waitingId), 'extracts', 'failed'], env, 60_000);
  expect(marked.code, marked.stderr).toBe(0);
  expect(await runState(behindId, 30_000, (s) => s !== 'queued')).not.toBe('queued');
});
