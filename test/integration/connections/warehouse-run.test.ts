/**
 * A day's pipeline on a warehouse connection, with real processes: `trib worker`, `trib trigger` and
 * `trib dashboard` on the engine's database, TRIB_CONN_WAREHOUSE pointing at a second database with
 * a password of its own. The load lands on the warehouse (rows = the generator's truth, its audit
 * rows, ledger and inbox there) and nothing of it in the engine's database; validate, reconcile and
 * report read the warehouse and store their results with the run. The password is in no output of
 * any process, no log line, no API answer, no page and no row of either database.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../db/embedded.ts';
import { cliEnv, spawnTrib, trib } from '../../support/cli.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { dagFolder } from '../../support/dag-folder.ts';
import { createWarehouse, dagFileText, dayFile, loadTask, tempFolder, type DayFile, type Warehouse } from './warehouse-setup.ts';

const TOKEN = 'dashboard-token-for-connections-test';

let engineDb: TestDatabase;
let warehouse: Warehouse;
let base: string;
let day: DayFile;
let env: NodeJS.ProcessEnv;

function dag(dataDir: string, reportsDir: string) {
  return {
    id: 'warehouse_day',
    tasks: {
      load: loadTask(dataDir),
      check: {
        kind: 'validate', upstream: ['load'],
        options: { connection: 'warehouse', checks: [{ name: 'rating_range', kind: 'range', table: 'customer_ratings', column: 'customer_rating', min: 0, max: 100 }] },
      },
      totals: {
        kind: 'reconcile', upstream: ['load'],
        options: {
          connection: 'warehouse',
          reconciliations: [{
            name: 'rejects_by_status', severity: 'info',
            left: { table: 'customer_ratings', key: ['customer_status'], agg: 'count' },
            right: { table: 'audit.customer_ratings_rejects', key: ['reason'], agg: 'count' },
          }],
        },
      },
      report: {
        kind: 'report', upstream: ['check'],
        options: {
          connection: 'warehouse', outputDir: reportsDir, fileName: 'warehouse_{yyyymmdd}.csv',
          query: 'SELECT count(*) AS n, sum(customer_rating) AS s FROM public.customer_ratings',
        },
      },
    },
  };
}

beforeAll(async () => {
  engineDb = await createTestDatabase();
  warehouse = await createWarehouse();
  base = await tempFolder('conn-run');
  const dataDir = path.join(base, 'data');
  const reportsDir = path.join(base, 'reports');
  await fs.mkdir(reportsDir);
  day = await dayFile(dataDir);
  const dags = await dagFolder(base, 'dags', { 'warehouse_day.ts': dagFileText(dag(dataDir, reportsDir)) });
  env = cliEnv({
    DATABASE_URL: engineDb.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('conn'), DAGS_DIR: dags, DATA_ROOTS: base,
    TRIB_CONN_WAREHOUSE: warehouse.url, LOG_LEVEL: 'debug', DASHBOARD_TOKEN: TOKEN,
  });
});

afterAll(async () => {
  await engineDb?.drop();
  await warehouse?.drop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

/** Every row of every table of a database as text. */
async function everyRow(db: TestDatabase): Promise<string> {
  const { rows: tables } = await db.pool.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await db.pool.query<{ text: string | null }>(`SELECT string_agg(t::text, E'\\n') AS text FROM ${name} t`);
    parts.push(rows[0].text ?? '');
  }
  return parts.join('\n');
}

describe('a day on a warehouse connection (trib worker, trigger, dashboard)', () => {
  it('loads into the warehouse exactly, checks and reports from it, and shows its password nowhere', { timeout: 180_000 }, async () => {
    const worker = spawnTrib(['worker'], env);
    const port = await freePort();
    const dashboard = spawnTrib(['dashboard'], { ...env, DASHBOARD_PORT: String(port) });
    // A dashboard whose process does not define the connection: it says so, with what to set.
    const blindPort = await freePort();
    const blind = spawnTrib(['dashboard'], { ...env, TRIB_CONN_WAREHOUSE: '', DASHBOARD_PORT: String(blindPort) });
    let runId: number;
    const answers: string[] = [];
    try {
      await Promise.all([dashboard.waitFor(/dashboard listening/), blind.waitFor(/dashboard listening/)]);
      const trigger = await trib(['trigger', 'warehouse_day', '--date', '2025-05-13'], env);
      expect(trigger.stderr).toBe('');
      runId = Number(trigger.stdout.match(/run (\d+)/)?.[1]);
      const deadline = Date.now() + 90_000;
      for (;;) {
        const { rows } = await engineDb.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId]);
        if (rows[0].state === 'success' || rows[0].state === 'failed') break;
        if (Date.now() > deadline) throw new Error(`run still ${rows[0].state}: ${worker.err().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const states = await engineDb.pool.query('SELECT task_id, state FROM task_instances WHERE run_id = $1 ORDER BY task_id', [runId]);
      expect(states.rows).toEqual(['check', 'load', 'report', 'totals'].map((task_id) => ({ task_id, state: 'success' })));

      const get = async (url: string, accept = 'application/json', on = port, status = 200) => {
        const res = await fetch(`http://127.0.0.1:${on}${url}`, { headers: { authorization: `Bearer ${TOKEN}`, accept } });
        const text = await res.text();
        expect(res.status, `${url}: ${text.slice(0, 300)}`).toBe(status);
        answers.push(text);
        return text;
      };
      for (const url of [`/api/runs/${runId}`, `/api/runs/${runId}/files`, `/api/runs/${runId}/checks`, `/api/runs/${runId}/attempts`, '/api/dags', '/api/audit']) await get(url);
      for (const task of ['load', 'check', 'totals', 'report']) await get(`/api/runs/${runId}/logs?task=${task}`);
      expect(await get(`/runs/${runId}`, 'text/html')).toContain('warehouse_day');
      // The refused rows are browsed from the warehouse's audit table: the generator's count.
      const refused = JSON.parse(await get(`/api/runs/${runId}/refused?task=load&limit=5`));
      expect(refused.total).toBe(day.rejected);
      expect(refused.rows).toHaveLength(Math.min(5, day.rejected));
      const page = await get(`/runs/${runId}/refused?task=load`, 'text/html');
      expect(page).toContain(`<span id="refused-total">${day.rejected.toLocaleString('en')}</span>`);
      expect(page).toMatch(/customer_ratings_rejects<\/code> of connection <code>warehouse<\/code>/);
      expect((await get(`/runs/${runId}/refused.csv?task=load`, 'text/csv')).trim().split('\n')).toHaveLength(day.rejected + 1);
      const missing = JSON.parse(await get(`/api/runs/${runId}/refused?task=load`, 'application/json', blindPort, 503));
      expect(missing.error).toBe('CONNECTION_UNDEFINED');
      expect(missing.message).toContain('set TRIB_CONN_WAREHOUSE');
      expect(await get(`/runs/${runId}/refused?task=load`, 'text/html', blindPort)).toMatch(/id="refused-unreachable">the refused rows of this load are in connection/);
    } finally {
      worker.child.kill('SIGTERM');
      dashboard.child.kill('SIGTERM');
      blind.child.kill('SIGTERM');
      await Promise.all([worker.exited, dashboard.exited, blind.exited]);
    }

    // The warehouse holds the day: the generator's valid rows, its refused rows, one ledger row, one inbox row.
    const wh = async (sql: string) => (await warehouse.database.pool.query(sql)).rows[0];
    expect(await wh('SELECT count(*)::int AS n, sum(customer_rating)::int AS s FROM public.customer_ratings')).toEqual({ n: day.valid, s: day.ratingSum });
    expect(await wh('SELECT count(*)::int AS n FROM audit.customer_ratings_rejects')).toEqual({ n: day.rejected });
    expect(await wh('SELECT count(*)::int AS n, sum(rows_loaded)::int AS loaded FROM tributary.load_ledger')).toEqual({ n: 1, loaded: day.valid });
    expect(await wh(`SELECT count(*)::int AS n, min(result->>'rows_loaded')::int AS loaded FROM tributary.load_inbox`)).toEqual({ n: 1, loaded: day.valid });
    // … and the engine's database none of it.
    const eng = async (sql: string, values: unknown[] = []) => (await engineDb.pool.query(sql, values)).rows[0];
    expect(await eng(`SELECT to_regclass('public.customer_ratings') AS t, to_regclass('audit.customer_ratings_rejects') AS a`)).toEqual({ t: null, a: null });
    expect(await eng('SELECT count(*)::int AS n FROM load_ledger')).toEqual({ n: 0 });
    // The checks read the warehouse; their results are stored with the run.
    expect(await eng('SELECT outcome, rows_evaluated::int AS n FROM check_results WHERE run_id = $1', [runId])).toEqual({ outcome: 'pass', n: day.valid });
    expect(await eng('SELECT count(*)::int AS n FROM reconcile_results WHERE run_id = $1', [runId])).toEqual({ n: 1 });
    const report = await eng('SELECT path, row_count::int AS n FROM reports WHERE run_id = $1', [runId]);
    expect(report.n).toBe(1);
    expect(await fs.readFile(report.path, 'utf8')).toBe(`n,s\n${day.valid},${day.ratingSum}\n`);
    const loadResult = await eng(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'load'`, [runId]);
    expect(loadResult.result).toMatchObject({ rows_loaded: day.valid, rows_rejected: day.rejected });

    // The password: not in any process output, log line, API answer, page or row.
    const listed = await trib(['connections', 'list'], env);
    expect(listed.stdout).toContain('warehouse');
    const logged = worker.err() + worker.out();
    expect(logged).toContain('working on connection \\"warehouse\\"');
    expect(logged).toContain(warehouse.url.replace(warehouse.secret, '***')); // log lines mask URL passwords as ***
    const everything = [logged, dashboard.err(), dashboard.out(), blind.err(), blind.out(), listed.stdout, listed.stderr, ...answers, await everyRow(engineDb), await everyRow(warehouse.database)];
    for (const [i, text] of everything.entries()) expect(text.includes(warehouse.secret), `output ${i} holds the password`).toBe(false);
  });
});
