/**
 * Reject limits with a warn level, through the real engine, the `trib` CLI and the dashboard API:
 * a file with 2% refused rows loads with a warning (DAG-wide default), a warn check counts as a
 * warning too, 25% refused fails the file with REJECT_LIMIT_EXCEEDED and commits nothing, the
 * scorecard counts refused rows as rows with issues, and a report after a check that did not run
 * says so. Expected counts come from the generator below, and from our own SQL.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import type { LoadOptions } from '../../../jobs/load/options.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { cliEnv, trib } from '../../support/cli.ts';
import { redisUrl, uniquePrefix } from '../../support/db.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const TOKEN = 'reject-warnings-token-0123456789';
const ROWS = 1000;

/** `rows` lines; every line in `bad` has a non-integer qty (refused), every line in `odd` an unknown label (loads, fails the check). */
function csv(rows: number, bad: Set<number>, odd: Set<number>): string {
  const lines = ['id,qty,label'];
  for (let i = 1; i <= rows; i++) lines.push(`${i},${bad.has(i) ? 'x' : i % 7},${odd.has(i) ? 'odd' : 'ok'}`);
  return `${lines.join('\n')}\n`;
}
const every = (n: number, step: number, offset = 0) => new Set(Array.from({ length: Math.floor(n / step) }, (_, k) => k * step + 1 + offset));

// Generator truth.
const BAD_2PCT = every(ROWS, 50); // 20 refused of 1000
const ODD = new Set([...every(ROWS, 137, 3)].filter((i) => !BAD_2PCT.has(i))); // loaded rows failing label_known
const BAD_25PCT = every(ROWS, 4); // 250 refused of 1000

const columns = [
  { name: 'id', type: 'integer' },
  { name: 'qty', type: 'integer', min: 0 },
  { name: 'label', type: 'text' },
];

function warnedDag(dir: string): DagSpec {
  return {
    id: 'warned',
    dataRoots: [dir],
    optionDefaults: { load: { rejectLimit: { warn: { ratio: 0.01 }, fail: { ratio: 0.2 } } } },
    params: { file: 'two_percent.csv' },
    tasks: {
      load_items: { kind: 'load', options: { source: { file: `${dir}/{params.file}` }, target: 'items', columns } },
      // Its own limit replaces the DAG's whole: no warn level, so 2% refused is silent.
      load_own: { kind: 'load', options: { source: { file: `${dir}/own.csv` }, target: 'items_own', columns, rejectLimit: { fail: { ratio: 0.2 } } } },
      quality: {
        kind: 'validate',
        upstream: ['load_items'],
        options: { checks: [{ name: 'label_known', kind: 'accepted_values', table: 'items', column: 'label', values: ['ok'], severity: 'warn' }] },
      },
      summary: {
        kind: 'report',
        upstream: ['quality'],
        triggerRule: 'all_done',
        options: { query: 'SELECT count(*) AS n FROM items', outputDir: `${dir}/reports`, fileName: 'summary_{yyyymmdd}.csv' },
      },
    },
  };
}

describe('reject limit warnings (redis)', () => {
  let t: TestEngine;
  let dir: string;
  let dagsDir: string;
  let dashboard: Dashboard;
  let env: NodeJS.ProcessEnv;
  let warnedRun: number;
  let failedRun: number;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reject-warn-'));
    await fs.writeFile(path.join(dir, 'two_percent.csv'), csv(ROWS, BAD_2PCT, ODD));
    await fs.writeFile(path.join(dir, 'own.csv'), csv(ROWS, BAD_2PCT, new Set()));
    await fs.writeFile(path.join(dir, 'quarter.csv'), csv(ROWS, BAD_25PCT, new Set()));
    const spec = warnedDag(dir);
    t = await startTestEngine({ backend: 'redis', dags: [spec] });
    dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
    dagsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'reject-warn-dags-'));
    await fs.writeFile(path.join(dagsDir, 'warned.ts'), `export default ${JSON.stringify(spec)};\n`);
    await fs.writeFile(path.join(dagsDir, 'package.json'), '{ "type": "module" }\n');
    env = cliEnv({ DATABASE_URL: t.database.url, QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('trw'), DAGS_DIR: dagsDir });

    const dag = t.dags.get('warned')!;
    warnedRun = (await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' })).runId;
    expect(await t.waitForRun(warnedRun)).toBe('success');
    failedRun = (await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-14', params: { file: 'quarter.csv' } })).runId;
    // Its leaves (load_own, summary) succeed, so the run does (Airflow's rule): the warning shows what failed.
    expect(await t.waitForRun(failedRun)).toBe('success');
  });
  afterAll(async () => {
    await dashboard?.close();
    await t?.close();
    for (const d of [dir, dagsDir]) if (d) await fs.rm(d, { recursive: true, force: true });
  });

  const result = async (runId: number, task: string) =>
    (await t.database.pool.query('SELECT state, result, error_code FROM task_instances WHERE run_id = $1 AND task_id = $2', [runId, task])).rows[0];

  it('applies the DAG-wide default to a load that sets no limit, and not to one that sets its own', () => {
    const dag = t.dags.get('warned')!;
    // maxLinesPerRecord keeps its default (100) under either.
    expect((dag.tasks.get('load_items')!.options as LoadOptions).rejectLimit).toEqual({ warn: { ratio: 0.01 }, fail: { ratio: 0.2 }, maxLinesPerRecord: 100 });
    expect((dag.tasks.get('load_own')!.options as LoadOptions).rejectLimit).toEqual({ fail: { ratio: 0.2 }, maxLinesPerRecord: 100 });
    const spec = { ...warnedDag(dir), optionDefaults: { lode: { rejectLimit: {} } } };
    expect(() => compileDag(spec, 'x.ts', builtinKinds())).toThrow(/optionDefaults: unknown job kind "lode"/);
  });

  it('a 2%-refused file loads with one warning; the same file under its own limit has none', async () => {
    const refused = await t.database.pool.query<{ task_id: string; n: number }>(
      `SELECT task_id, count(*)::int AS n FROM audit.items_rejects WHERE run_id = $1 GROUP BY task_id`, [String(warnedRun)]);
    expect(refused.rows).toEqual([{ task_id: 'load_items', n: BAD_2PCT.size }]);
    const items = await result(warnedRun, 'load_items');
    expect(items.state).toBe('success');
    expect(items.result.warnings).toHaveLength(1);
    expect(items.result.warnings[0]).toContain(`${BAD_2PCT.size} of ${ROWS} rows refused (2.00%), above the warn limit ratio 0.01`);
    const own = await result(warnedRun, 'load_own');
    expect(own.result).toMatchObject({ rows_rejected: BAD_2PCT.size, warnings: [] });
  });

  it('25% refused fails the file with REJECT_LIMIT_EXCEEDED and commits none of its rows', async () => {
    const items = await result(failedRun, 'load_items');
    expect(items).toMatchObject({ state: 'failed', error_code: 'REJECT_LIMIT_EXCEEDED' });
    const rows = await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM items');
    expect(rows.rows[0].n).toBe(ROWS - BAD_2PCT.size); // only the first run's rows
    const audit = await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.items_rejects WHERE run_id = $1', [String(failedRun)]);
    expect(audit.rows[0].n).toBe(0);
    expect((await result(failedRun, 'quality')).state).toBe('upstream_failed');
  });

  it('the scorecard counts refused rows as rows with issues', async () => {
    const mine = await t.database.pool.query<{ table_rows: number; refused: number; failing: number }>(
      `SELECT (SELECT count(*)::int FROM items) AS table_rows,
              (SELECT count(*)::int FROM audit.items_rejects WHERE run_id = $1) AS refused,
              (SELECT count(*)::int FROM items WHERE label <> 'ok') AS failing`, [String(warnedRun)]);
    const { table_rows: tableRows, refused, failing } = mine.rows[0];
    expect([refused, failing]).toEqual([BAD_2PCT.size, ODD.size]);
    const cards = await t.database.pool.query('SELECT total_rows, rows_with_issues, clean_rows, score FROM quality_scorecards WHERE run_id = $1', [warnedRun]);
    const total = tableRows + refused;
    expect(cards.rows).toEqual([{
      total_rows: total, rows_with_issues: refused + failing, clean_rows: total - refused - failing,
      score: (Math.round((10_000 * (total - refused - failing)) / total) / 100).toFixed(2),
    }]);
  });

  it('a report after a check that did not run says so; after one that ran it does not', async () => {
    expect((await result(warnedRun, 'summary')).result.warnings).toBeUndefined();
    const summary = await result(failedRun, 'summary');
    expect(summary.state).toBe('success');
    expect(summary.result.warnings).toEqual(['built without the results of quality: they did not succeed in this run']);
  });

  it('trib run show and trib runs mark the warnings and list rows refused per file', async () => {
    const show = await trib(['run', 'show', String(warnedRun)], env);
    expect(show.stderr).toBe('');
    const out = show.stdout;
    expect(out).toContain(`run ${warnedRun} of warned — success (2 warnings)`);
    expect(out).toMatch(/^load_items\s+success \(1 warning\)\s/m);
    expect(out).toMatch(/^quality\s+success \(1 warning\)\s/m);
    expect(out).toMatch(/^load_own\s+success\s+1\/1/m);
    expect(out).toContain(`quality: check label_known on items: ${ODD.size} of ${ROWS - BAD_2PCT.size} rows failing (warn)`);
    expect(out).toContain(`load_items: ${path.join(dir, 'two_percent.csv')}: ${BAD_2PCT.size} of ${ROWS} rows refused`);
    expect(out).toContain(`load_own: ${path.join(dir, 'own.csv')}: ${BAD_2PCT.size} of ${ROWS} rows refused`);

    const failedShow = await trib(['run', 'show', String(failedRun)], env);
    // The report's warning, and the failed load and the check it kept from running: the run
    // succeeded only because its all_done leaf ran.
    expect(failedShow.stdout).toContain(`run ${failedRun} of warned — success (3 warnings)`);
    expect(failedShow.stdout).toContain('task load_items failed (REJECT_LIMIT_EXCEEDED), but the run succeeded');
    expect(failedShow.stdout).toContain('task quality upstream_failed, but the run succeeded');
    expect(failedShow.stdout).toMatch(/^load_items\s+failed \(1 warning\)\s+1\/1\s+\S+\s+REJECT_LIMIT_EXCEEDED: /m);
    expect(failedShow.stdout).toMatch(/^summary\s+success \(1 warning\)\s/m);
    // Every attempt, as the run page lists them: the failed load's with its worker and code.
    expect(failedShow.stdout).toContain('\nattempts:\n');
    expect(failedShow.stdout).toMatch(/^load_items\s+1\.1\s+failed\s+\S+\s+\d{4}-\d\d-\d\d \S+\s+\d{4}-\d\d-\d\d \S+\s+REJECT_LIMIT_EXCEEDED: /m);
    expect(failedShow.stdout).toMatch(/^summary\s+1\.1\s+success\s/m);

    const runs = await trib(['runs', 'warned'], env);
    expect(runs.stderr).toBe('');
    expect(runs.stdout).toMatch(new RegExp(`^${warnedRun}\\s+2025-05-13 \\S+\\s+success \\(2 warnings\\)\\s`, 'm'));
    expect(runs.stdout).toMatch(new RegExp(`^${failedRun}\\s+2025-05-14 \\S+\\s+success \\(3 warnings\\)\\s`, 'm'));
  });

  it('/api/runs/:id carries the warnings and the refused rows per file', async () => {
    const res = await fetch(`${dashboard.url}/api/runs/${warnedRun}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      warnings: number;
      refused: Array<{ taskId: string; path: string; rowsRead: number; rowsRefused: number }>;
      tasks: Array<{ taskId: string; warnings: string[] }>;
    };
    expect(body.warnings).toBe(2);
    expect(Object.fromEntries(body.tasks.map((task) => [task.taskId, task.warnings.length]))).toEqual({
      load_items: 1, load_own: 0, quality: 1, summary: 0,
    });
    expect(body.refused.map((f) => [f.taskId, path.basename(f.path), f.rowsRead, f.rowsRefused])).toEqual([
      ['load_items', 'two_percent.csv', ROWS, BAD_2PCT.size],
      ['load_own', 'own.csv', ROWS, BAD_2PCT.size],
    ]);
  });
});
