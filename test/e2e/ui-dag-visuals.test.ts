/**
 * The DAG page's graph and trend charts in a real headless Chromium (Debian's `chromium`, as in
 * ui.test.ts) after three real W1 runs whose files carry 0, 3 and 5 extra type-refused lines: one
 * node per task of the DAG file, its edges, colours from the run's task states (own SQL), and chart
 * points equal to the fixture's truth and our own SQL. Screenshots: test-output/ui/.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../dashboard/server.ts';
import { markTask, triggerRun } from '../../engine/operations.ts';
import creditPlatform from '../../schedules/credit_platform.ts';
import customerRatings from '../../schedules/customer_ratings.ts';
import merchantActivity from '../../schedules/merchant_activity.ts';
import transactionsApi from '../../schedules/transactions_api.ts';
import { startW1Run, W1_FIXTURES, type W1Run } from '../integration/dashboard/w1-run.ts';

const TOKEN = 'ui-visuals-token-0123456789';
const SHOTS = path.resolve(import.meta.dirname, '../../test-output/ui');
/** Extra lines with a non-integer rating appended per day and agency: each is refused by `type`. */
const EXTRA: Record<string, Record<string, number>> = { '20250514': { acme: 1, globex: 2 }, '20250515': { acme: 4, globex: 1 } };
const FILL = { success: 'rgb(46, 139, 87)', failed: 'rgb(192, 57, 43)' };

let w1: W1Run;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;
/** Oldest first: the 2025-05-13 run of w1-run.ts, then the two runs made here. */
const runIds: number[] = [];

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await w1.t.database.pool.query<R>(text, values)).rows;

beforeAll(async () => {
  await fs.mkdir(SHOTS, { recursive: true });
  w1 = await startW1Run();
  runIds.push(w1.runId);
  const dag = w1.t.dags.get('customer_ratings')!;
  for (const [yyyymmdd, extra] of Object.entries(EXTRA)) {
    for (const f of w1.truth.files) {
      const agency = f.file.split('_')[0];
      const bad = Array.from({ length: extra[agency] }, (_, i) => `${9000 + i},not-a-number,5,active\n`).join('');
      await fs.writeFile(path.join(w1.params.dataDir, f.file.replace('20250513', yyyymmdd)), await fs.readFile(path.join(W1_FIXTURES, f.file), 'utf8') + bad);
    }
    const day = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6)}`;
    const { runId } = await triggerRun(w1.t.engine.pool, w1.t.engine.dispatcher, dag, { date: day, params: w1.params });
    expect(await w1.t.waitForRun(runId)).toBe('success');
    runIds.push(runId);
  }
  // The first run's report marked failed by hand: the run ends failed, its graph shows one red node.
  await markTask(w1.t.engine.pool, w1.t.engine.dispatcher, dag, w1.runId, 'report', 'failed');
  expect(await w1.t.waitForRun(w1.runId)).toBe('failed');
  dashboard = await startDashboard({ engine: w1.t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${dashboard.url}/login`);
  await page.fill('#token', TOKEN);
  await page.click('button[type=submit]');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  await w1?.close();
});

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Per task of a run (own SQL): the parent's state, or with mapped children their states and count. */
async function statesOf(runId: number): Promise<Map<string, { states: string[]; mapped: number }>> {
  const rows = await sql<{ task: string; states: string[]; mapped: number }>(
    `SELECT task_id AS task, array_agg(DISTINCT state) FILTER (WHERE map_index >= 0 OR NOT EXISTS (
         SELECT 1 FROM task_instances c WHERE c.run_id = t.run_id AND c.task_id = t.task_id AND c.map_index >= 0)) AS states,
       count(*) FILTER (WHERE map_index >= 0)::int AS mapped
     FROM task_instances t WHERE run_id = $1 GROUP BY task_id`, [runId]);
  return new Map(rows.map((r) => [r.task, { states: r.states, mapped: r.mapped }]));
}

async function graphNodes(): Promise<Array<{ task: string; state: string; mapped: string | null; fill: string; href: string | null }>> {
  return page.locator('#graph g.node').evaluateAll((nodes) => nodes.map((n) => ({
    task: n.getAttribute('data-task') ?? '',
    state: n.getAttribute('data-state') ?? '',
    mapped: n.getAttribute('data-mapped'),
    fill: getComputedStyle(n.querySelector('rect')!).fill,
    href: n.closest('a')?.getAttribute('href') ?? null,
  })));
}

describe('DAG page graph and trends in Chromium', () => {
  it('draws one node per task of the DAG file and one edge per upstream link', async () => {
    await page.goto(`${dashboard.url}/dags/customer_ratings`);
    const nodes = await graphNodes();
    expect(nodes.map((n) => n.task).sort()).toEqual(Object.keys(customerRatings.tasks).sort());
    const edges = await page.locator('#graph path.edge').evaluateAll((p) => p.map((e) => `${e.getAttribute('data-from')}→${e.getAttribute('data-to')}`).sort());
    const declared = Object.entries(customerRatings.tasks).flatMap(([id, t]) => ((t as { upstream?: string[] }).upstream ?? []).map((u) => `${u}→${id}`));
    expect(edges).toEqual(declared.sort());
    // Rows follow dependencies: every edge goes down.
    const y = await page.locator('#graph g.node rect').evaluateAll((r) => Object.fromEntries(r.map((e) => [e.parentElement!.getAttribute('data-task'), Number(e.getAttribute('y'))])));
    for (const e of edges) {
      const [from, to] = e.split('→');
      expect(y[from]).toBeLessThan(y[to]);
    }
  });

  it('colours the newest run by default: all green, the mapped load with its file count', async () => {
    await page.goto(`${dashboard.url}/dags/customer_ratings`);
    const newest = runIds[runIds.length - 1];
    const truth = await statesOf(newest);
    const nodes = await graphNodes();
    for (const n of nodes) {
      expect(truth.get(n.task)?.states).toEqual(['success']);
      expect(n.state).toBe('success');
      expect(n.fill).toBe(FILL.success);
      expect(n.href).toBe(`/runs/${newest}#task-${n.task}`);
    }
    expect(nodes.find((n) => n.task === 'load')?.mapped).toBe(String(w1.truth.files.length));
    expect(truth.get('load')?.mapped).toBe(w1.truth.files.length);
    await shot('dag-visuals');
  });

  it('?run= colours an older run: its hand-failed report is red, the rest green', async () => {
    await page.goto(`${dashboard.url}/dags/customer_ratings`);
    await page.selectOption('#graph-run', String(w1.runId));
    await page.click('form.graph-run button');
    expect(new URL(page.url()).searchParams.get('run')).toBe(String(w1.runId));
    const truth = await statesOf(w1.runId);
    const nodes = await graphNodes();
    expect(Object.fromEntries(nodes.map((n) => [n.task, n.state]))).toEqual(Object.fromEntries([...truth].map(([t, s]) => [t, s.states.join()])));
    expect(nodes.find((n) => n.task === 'report')?.fill).toBe(FILL.failed);
    expect(nodes.filter((n) => n.fill === FILL.success).map((n) => n.task).sort()).toEqual(['files', 'load']);
    await shot('dag-visuals-older-run');
    const other = await page.goto(`${dashboard.url}/dags/customer_ratings?run=999999`);
    expect(other?.status()).toBe(404);
  });

  it('trend points equal the fixture truth and our own SQL, oldest first', async () => {
    await page.goto(`${dashboard.url}/dags/customer_ratings`);
    const points = async (chart: string) => page.locator(`#trend-${chart} .point`).evaluateAll((p) =>
      p.map((e) => ({ run: Number(e.getAttribute('data-run')), value: Number(e.getAttribute('data-value')) })));
    const baseRefused = w1.truth.files.reduce((n, f) => n + f.rejected, 0);
    const baseLoaded = w1.truth.files.reduce((n, f) => n + f.valid, 0);
    const extra = (d: string) => Object.values(EXTRA[d]).reduce((a, b) => a + b, 0);
    const expectedRefused = [baseRefused, baseRefused + extra('20250514'), baseRefused + extra('20250515')];
    expect(await points('refused')).toEqual(runIds.map((run, i) => ({ run, value: expectedRefused[i] })));
    expect(await points('loaded')).toEqual(runIds.map((run) => ({ run, value: baseLoaded })));
    const audit = await sql<{ run: string; n: number }>(
      `SELECT run_id AS run, count(*)::int AS n FROM audit.customer_ratings_rejects WHERE run_id = ANY($1::text[]) GROUP BY run_id`, [runIds.map(String)]);
    expect(Object.fromEntries(audit.map((r) => [Number(r.run), r.n]))).toEqual(Object.fromEntries(runIds.map((r, i) => [r, expectedRefused[i]])));
    const ledger = await sql<{ run: string; n: number }>(
      `SELECT run_id AS run, sum(rows_loaded)::int AS n FROM load_ledger WHERE run_id = ANY($1::text[]) GROUP BY run_id`, [runIds.map(String)]);
    expect(Object.fromEntries(ledger.map((r) => [Number(r.run), r.n]))).toEqual(Object.fromEntries(runIds.map((r) => [r, baseLoaded])));
    const durations = await sql<{ id: string; ms: number }>(
      `SELECT id, extract(epoch FROM ended_at - started_at)::float8 * 1000 AS ms FROM dag_runs WHERE id = ANY($1::bigint[]) ORDER BY logical_date`, [runIds]);
    const shown = await points('duration');
    expect(shown.map((p) => p.run)).toEqual(durations.map((d) => Number(d.id)));
    shown.forEach((p, i) => expect(p.value).toBeCloseTo(durations[i].ms, 3));
    const checks = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM check_results WHERE run_id = ANY($1::bigint[]) AND outcome = 'fail'`, [runIds]);
    expect((await points('checks')).map((p) => p.value)).toEqual(runIds.map(() => 0));
    expect(checks).toEqual([{ n: 0 }]);
    for (const id of ['duration', 'loaded', 'refused', 'checks']) {
      expect(await page.locator(`#trend-${id} svg > title`).textContent()).not.toBe('');
      expect(await page.locator(`#trend-${id} svg > desc`).textContent()).toContain(`${runIds.length} runs from 2025-05-13 to 2025-05-15`);
    }
    expect(await page.locator('#trend-refused .tick').allTextContents()).toEqual([String(Math.max(...expectedRefused)), '0', '2025-05-13', '2025-05-15']);
  });

  it('lays out every shipped DAG: its tasks and edges, edges downwards, no two nodes overlapping', async () => {
    for (const spec of [creditPlatform, customerRatings, merchantActivity, transactionsApi]) {
      await page.goto(`${dashboard.url}/dags/${spec.id}`);
      const boxes = await page.locator('#graph g.node rect').evaluateAll((r) => r.map((e) => ({
        task: e.parentElement!.getAttribute('data-task')!, ...Object.fromEntries(['x', 'y', 'width', 'height'].map((k) => [k, Number(e.getAttribute(k))])),
      }) as { task: string; x: number; y: number; width: number; height: number }));
      expect(boxes.map((b) => b.task).sort(), spec.id).toEqual(Object.keys(spec.tasks).sort());
      const edges = await page.locator('#graph path.edge').evaluateAll((p) => p.map((e) => [e.getAttribute('data-from')!, e.getAttribute('data-to')!]));
      const declared = Object.entries(spec.tasks).flatMap(([id, t]) => ((t as { upstream?: string[] }).upstream ?? []).map((u) => `${u}→${id}`));
      expect(edges.map(([f, t]) => `${f}→${t}`).sort(), spec.id).toEqual(declared.sort());
      const at = new Map(boxes.map((b) => [b.task, b]));
      for (const [from, to] of edges) expect(at.get(from)!.y + at.get(from)!.height, `${spec.id} ${from}→${to}`).toBeLessThan(at.get(to)!.y);
      for (const a of boxes) {
        for (const b of boxes) {
          const apart = a === b || a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
          expect(apart, `${spec.id}: ${a.task} overlaps ${b.task}`).toBe(true);
        }
      }
      await shot(`dag-graph-${spec.id}`);
    }
  });

  it('fits a phone: the page does not scroll sideways, the charts fit the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${dashboard.url}/dags/customer_ratings`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const widths = await page.locator('.trend svg').evaluateAll((s) => s.map((e) => e.getBoundingClientRect().width));
    for (const w of widths) expect(w).toBeLessThanOrEqual(390);
    await shot('dag-visuals-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
