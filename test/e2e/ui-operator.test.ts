/**
 * The operator pages in a real headless Chromium (as ui.test.ts): the trigger form built from each
 * DAG's zod params (every shipped DAG, plus a DAG with every field type), a wrong type refused
 * beside its field with no run created, a valid submit; the UI backfill over BACKFILL_MAX_RUNS
 * refused without its confirmation; pause shown and toggled on the DAG page; the DAG list's last
 * run by creation and its failed checks by severity; log fields; a queued run's wait reason; an
 * error code printed once. Counts come from our own SQL. Screenshots: test-output/ui/operator-*.png.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startDashboard, type Dashboard } from '../../dashboard/server.ts';
import { TributaryError } from '../../engine/errors.ts';
import { triggerRun } from '../../engine/operations.ts';
import type { DagSpec, JobKind } from '../../engine/types.ts';
import creditPlatform from '../../schedules/credit_platform.ts';
import customerRatings from '../../schedules/customer_ratings.ts';
import merchantActivity from '../../schedules/merchant_activity.ts';
import transactionsApi from '../../schedules/transactions_api.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const TOKEN = 'ui-operator-token-0123456789';
const SHOTS = path.resolve(import.meta.dirname, '../../test-output/ui');
const BACKFILL_MAX = 5;
const SHIPPED = [creditPlatform, customerRatings, merchantActivity, transactionsApi];

/** Logs one line with fields (one of them markup, one a secret), then succeeds. */
const chatty: JobKind = {
  name: 'chatty',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    ctx.log.info('first line');
    ctx.log.warn({ url: 'http://source.test/page?b=<i>x</i>', reason: 'timeout', apiKey: 'hunter2-secret' }, 'page refused');
    return { ok: true };
  },
};
/** Fails its try with CHECK_FAILED, as a validate task does. */
const refuses: JobKind = {
  name: 'refuses',
  options: z.object({}).prefault({}),
  async handler() {
    throw new TributaryError('CHECK_FAILED', 'task "verdict": 1 error check(s) failed: not_null on t (3 of 9 rows failing)');
  },
};

/** A field of every type the form knows. */
const typed: DagSpec = {
  id: 'op_typed',
  description: 'params of every type',
  params: {
    batchSize: z.number().int().min(1).default(10).describe('Rows per batch'),
    mode: z.enum(['full', 'delta']).default('delta').describe('How much to load'),
    dryRun: z.boolean().default(false).describe('Read only'),
    label: z.string().describe('Names the run'),
    tags: z.array(z.string()).default(['daily']).describe('Free tags'),
    apiToken: z.string().default('s3cret-default-value'),
  },
  tasks: { talk: { kind: 'chatty' } },
};
const daily: DagSpec = { id: 'op_daily', schedule: { cron: '0 0 * * *', timezone: 'UTC' }, tasks: { talk: { kind: 'chatty' } } };
const hold: DagSpec = {
  id: 'op_hold',
  maxActiveRuns: 1,
  tasks: { wait: { kind: 'sensor', options: { dir: os.tmpdir(), filePattern: 'op-hold-never-{yyyymmdd}.csv', pokeIntervalMs: 60_000 } } },
};
const fails: DagSpec = { id: 'op_fails', tasks: { verdict: { kind: 'refuses' } } };

let t: TestEngine;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  await fs.mkdir(SHOTS, { recursive: true });
  t = await startTestEngine({ backend: 'redis', dags: [...SHIPPED, typed, daily, hold, fails], kinds: [chatty, refuses] });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }), backfillMaxRuns: BACKFILL_MAX });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${dashboard.url}/login`);
  await page.fill('#token', TOKEN);
  await page.click('button[type=submit]');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await t?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `operator-${name}.png`), fullPage: true });
const sql = async <R extends object>(text: string, values: unknown[] = []) => (await t.database.pool.query<R>(text, values)).rows;
const runsOf = async (dagId: string) => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = $1', [dagId]))[0].n;
const field = (name: string) => page.locator(`form.trigger [data-param="${name}"]`);
const submit = () => page.click('form.trigger button[type=submit]');
const runIdOfUrl = () => Number(/\/runs\/(\d+)$/.exec(page.url())?.[1]);

describe('operator pages in Chromium', () => {
  it('renders a field per declared param of every shipped DAG, with its default and description', async () => {
    for (const spec of [...SHIPPED, typed]) {
      const declared = Object.entries(spec.params ?? {}) as Array<[string, z.ZodType]>;
      await page.goto(`${dashboard.url}/dags/${spec.id}`);
      expect(await page.locator('form.trigger [data-param]').count(), spec.id).toBe(declared.length);
      for (const [name, schema] of declared) {
        expect(await field(name).locator(`[name="param.${name}"]`).count(), `${spec.id}.${name}`).toBe(1);
        if (schema.description) expect(await field(name).textContent(), `${spec.id}.${name}`).toContain(schema.description);
        // Every shipped param is a string with a default: a text box showing it.
        if (spec !== typed) expect(await field(name).locator('input[type=text]').inputValue(), `${spec.id}.${name}`).toBe(schema.parse(undefined));
      }
    }
    await page.goto(`${dashboard.url}/dags/credit_platform`);
    await shot('trigger-credit-platform');
  });

  it('gives each type its input: number, select, checkbox, JSON, a secret never shown; required marked', async () => {
    await page.goto(`${dashboard.url}/dags/op_typed`);
    expect(await field('batchSize').locator('input').getAttribute('type')).toBe('number');
    expect(await field('batchSize').locator('input').inputValue()).toBe('10');
    expect(await field('mode').locator('option').evaluateAll((o) => o.map((x) => x.textContent))).toEqual(['full', 'delta']);
    expect(await field('mode').locator('option:checked').textContent()).toBe('delta');
    expect(await field('dryRun').locator('input').getAttribute('type')).toBe('checkbox');
    expect(await field('tags').locator('textarea').inputValue()).toBe('[\n  "daily"\n]');
    expect(await field('apiToken').locator('input').getAttribute('type')).toBe('password');
    expect(await page.content()).not.toContain('s3cret-default-value');
    expect(await field('label').locator('.required').textContent()).toBe('required');
    expect(await field('batchSize').locator('.required').count()).toBe(0);
    await shot('trigger-typed');
  });

  it('refuses a wrong type beside its field, keeps what was typed and creates no run', async () => {
    await page.goto(`${dashboard.url}/dags/op_typed`);
    await field('batchSize').locator('input').fill('1.5');
    await field('label').locator('input').fill('kept label');
    await submit();
    expect(new URL(page.url()).pathname).toBe('/dags/op_typed/trigger');
    expect(await field('batchSize').locator('.field-error').textContent()).toMatch(/expected int/);
    expect(await field('label').locator('.field-error').count()).toBe(0);
    expect(await field('label').locator('input').inputValue()).toBe('kept label');
    expect(await field('batchSize').locator('input').inputValue()).toBe('1.5');
    expect(await page.locator('.flash.error').textContent()).toMatch(/^Not triggered: /);
    await shot('trigger-refused');
    // The raw JSON path: text where a number goes, and the required label missing.
    await page.locator('form.trigger details.raw-params summary').click();
    await page.fill('form.trigger textarea[name=params]', '{"batchSize": "ten"}');
    await submit();
    expect(await field('batchSize').locator('.field-error').textContent()).toMatch(/expected number, received string/);
    expect(await field('label').locator('.field-error').textContent()).toMatch(/expected string, received undefined/);
    expect(await runsOf('op_typed')).toBe(0);
  });

  it('creates a run from valid fields, with the typed values and the hidden default kept', async () => {
    await page.goto(`${dashboard.url}/dags/op_typed`);
    await field('batchSize').locator('input').fill('25');
    await field('mode').locator('select').selectOption({ label: 'full' });
    await field('dryRun').locator('input').check();
    await field('label').locator('input').fill('first');
    await field('tags').locator('textarea').fill('["x", "y"]');
    await submit();
    const runId = runIdOfUrl();
    expect(await page.locator('.flash').textContent()).toBe(`Run ${runId} created and started.`);
    expect(await sql('SELECT params FROM dag_runs WHERE dag_id = $1', ['op_typed'])).toEqual([{
      params: { batchSize: 25, mode: 'full', dryRun: true, label: 'first', tags: ['x', 'y'], apiToken: 's3cret-default-value' },
    }]);
    expect(await t.waitForRun(runId)).toBe('success');
  });

  it('shows log lines oldest first with their fields, escaped and redacted', async () => {
    const [{ id }] = await sql<{ id: string }>(`SELECT id FROM dag_runs WHERE dag_id = 'op_typed'`);
    await page.goto(`${dashboard.url}/runs/${id}?log=talk#log`);
    const lines = page.locator('pre.log .line');
    const texts = await lines.allTextContents();
    // Each line's cursor is its order key (µs, rank, line id): the page is in that order, the engine's derived start first and success last.
    const keys = await lines.evaluateAll((ls) => ls.map((l) => String(l.getAttribute('data-line')).split('-').map(Number)));
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.every((k) => k.length === 3 && k.every(Number.isSafeInteger))).toBe(true);
    expect(keys).toEqual([...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]));
    expect(texts[0]).toMatch(/ try started$/);
    expect(texts.at(-1)).toMatch(/ try succeeded$/);
    expect(texts.findIndex((l) => l.includes('first line'))).toBeLessThan(texts.findIndex((l) => l.includes('page refused')));
    const refused = texts.find((l) => l.includes('page refused'));
    expect(refused).toContain('page refused');
    expect(refused).toContain('url=http://source.test/page?b=<i>x</i>');
    expect(refused).toContain('reason=timeout');
    expect(refused).not.toContain('hunter2');
    expect(refused).not.toContain('dag_id='); // the logger's context, said by the page already
    expect(await page.locator('pre.log i').count()).toBe(0);
    expect(await page.locator('#log').textContent()).toContain('oldest first');
    await shot('log-fields');
  });

  it('the DAG list shows the most recently created run as the last one, and failed checks by severity', async () => {
    await page.goto(`${dashboard.url}/dags/op_typed`);
    await page.fill('form.trigger input[name=date]', '2020-01-01');
    await field('label').locator('input').fill('an old extract');
    await submit();
    const oldRun = runIdOfUrl();
    expect(await t.waitForRun(oldRun)).toBe('success');
    const [newest] = await sql<{ id: string }>(`SELECT id FROM dag_runs WHERE dag_id = 'op_typed' ORDER BY logical_date DESC LIMIT 1`);
    expect(Number(newest.id)).not.toBe(oldRun); // the older logical date was created last
    const [{ try: tryNumber }] = await sql<{ try: number }>(`SELECT try_number AS try FROM task_instances WHERE run_id = $1 AND task_id = 'talk'`, [oldRun]);
    for (const [name, severity, outcome] of [['e1', 'error', 'fail'], ['e2', 'error', 'fail'], ['w1', 'warn', 'warn'], ['w2', 'warn', 'warn'], ['w3', 'error', 'warn'], ['p1', 'error', 'pass']]) {
      await sql(`INSERT INTO check_results (run_id, task_id, try_number, check_name, check_kind, table_name, severity, rows_evaluated, rows_failing, outcome, duration_ms)
                 VALUES ($1, 'talk', $2, $3, 'not_null', 't', $4, 9030, 9030, $5, 1)`, [oldRun, tryNumber, name, severity, outcome]);
    }
    await page.goto(`${dashboard.url}/`);
    const row = page.locator('tr[data-dag="op_typed"]');
    expect(await row.locator('td.last-run a[data-run]').getAttribute('data-run')).toBe(String(oldRun));
    expect(await row.locator('[data-severity=error]').textContent()).toBe('2 error');
    expect(await row.locator('[data-severity=warn]').textContent()).toBe('3 warn');
    await shot('home');
  });

  it('refuses a trigger of an existing date with other params, naming both, and changes nothing', async () => {
    const before = await runsOf('op_typed');
    await page.goto(`${dashboard.url}/dags/op_typed`);
    await page.fill('form.trigger input[name=date]', '2020-01-01');
    await field('label').locator('input').fill('other label');
    await submit();
    expect(await page.locator('.flash.error').textContent()).toMatch(/^Not triggered: .*an old extract.*other label|^Not triggered: .*other label.*an old extract/);
    expect(await page.inputValue('form.trigger input[name=date]')).toBe('2020-01-01');
    expect(await runsOf('op_typed')).toBe(before);
  });

  it('shows and toggles the pause on the DAG page', async () => {
    const paused = async () => (await sql<{ paused: boolean; by: string | null }>(`SELECT paused, paused_by AS by FROM dags WHERE dag_id = 'op_daily'`))[0];
    await page.goto(`${dashboard.url}/dags/op_daily`);
    expect(await paused()).toEqual({ paused: false, by: null });
    expect(await page.locator('#dag-state').textContent()).toContain('active');
    await page.click('#pause-toggle');
    expect(new URL(page.url()).pathname).toBe('/dags/op_daily');
    expect(await paused()).toEqual({ paused: true, by: 'operator' });
    expect(await page.locator('#dag-state').textContent()).toContain('paused by an operator');
    expect(await page.locator('#pause-toggle').textContent()).toBe('Unpause');
    await shot('dag-paused');
    await page.click('#pause-toggle');
    expect((await paused()).paused).toBe(false);
    await sql(`UPDATE dags SET paused = true, paused_by = 'creation' WHERE dag_id = 'op_daily'`);
    await page.goto(`${dashboard.url}/dags/op_daily`);
    expect(await page.locator('#dag-state').textContent()).toContain('paused (new DAG: schedule off; manual runs run)');
    await page.goto(`${dashboard.url}/`);
    expect(await page.locator('tr[data-dag="op_daily"] .badge').first().textContent()).toBe('paused (new)');
  });

  it('refuses a backfill over BACKFILL_MAX_RUNS without the confirmation, as the API does', async () => {
    await sql(`UPDATE dags SET paused = true, paused_by = 'operator' WHERE dag_id = 'op_daily'`); // its runs wait: nothing runs
    await page.goto(`${dashboard.url}/dags/op_daily/backfill?from=2025-01-01&to=2025-01-10`);
    expect(await page.locator('#backfill-count').textContent()).toBe('10');
    expect(await page.locator('#backfill-over').textContent()).toContain(`BACKFILL_MAX_RUNS=${BACKFILL_MAX}`);
    await page.click('button:has-text("Create 10 runs")'); // the unticked, required box stops the browser
    expect(new URL(page.url()).pathname).toBe('/dags/op_daily/backfill');
    await page.locator('input[name=confirmed]').evaluate((box) => box.removeAttribute('required'));
    await page.click('button:has-text("Create 10 runs")'); // the server refuses too
    expect(await page.locator('.flash.error').textContent()).toMatch(/^Not created: 10 runs is more than BACKFILL_MAX_RUNS=5\. .*--yes/);
    expect(await runsOf('op_daily')).toBe(0);
    await shot('backfill-refused');
    await page.check('input[name=confirmed]');
    await page.click('button:has-text("Create 10 runs")');
    expect(await page.locator('.flash').textContent()).toBe('Backfill 2025-01-01 → 2025-01-10: 10 runs created (0 existed).');
    expect(await runsOf('op_daily')).toBe(10);
  });

  it('a run queued behind another says why on its page and in the trigger\'s message', async () => {
    const first = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('op_hold')!);
    expect(first.started).toBe(true);
    await page.goto(`${dashboard.url}/dags/op_hold`);
    await submit();
    const second = runIdOfUrl();
    expect(await page.locator('.flash:not(.waiting)').textContent()).toContain(`Run ${second} created, not started: waiting for run ${first.runId} (maxActiveRuns 1)`);
    expect(await sql('SELECT state FROM dag_runs WHERE id = $1', [second])).toEqual([{ state: 'queued' }]);
    expect(await page.locator('#wait-reason').textContent()).toMatch(new RegExp(`^Queued, not started: waiting for run ${first.runId} \\(maxActiveRuns 1\\)`));
    await shot('run-waiting');
  });

  it('prints an error code once and labels the mark buttons', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('op_fails')!);
    expect(await t.waitForRun(runId)).toBe('failed');
    await page.goto(`${dashboard.url}/runs/${runId}`);
    const cell = await page.locator('tr[data-task="verdict"] td').nth(4).textContent();
    expect(cell?.match(/CHECK_FAILED/g)).toHaveLength(1);
    expect(cell).toContain('CHECK_FAILED task "verdict": 1 error check(s) failed');
    expect(await page.locator('tr[data-task="verdict"] button', { hasText: 'mark success' }).getAttribute('title')).toBe('mark verdict success');
    expect(await page.locator('tr[data-task="verdict"] button', { hasText: 'mark failed' }).getAttribute('title')).toBe('mark verdict failed');
    await shot('run-failed');
  });
});
