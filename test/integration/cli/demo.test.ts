/**
 * `trib demo` as a user runs it, on a test database (DATABASE_URL, queues on BullMQ's Postgres
 * backend): W1's demo days run and write the reports their truth expects (exit 0), in the demo's
 * own database — a real run afterwards on the user's database holds only its own rows; a run that
 * fails makes the command exit 1, and an unknown demo is one usage line (exit 2).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileDag } from '../../../engine/dag.ts';
import { Engine } from '../../../engine/engine.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import type { W1Truth } from '../../../samples/w1-customer-ratings.ts';
import customerRatings from '../../../schedules/customer_ratings.ts';
import { demoDatabaseUrl } from '../../../workers/demo.ts';
import { createTestDatabase, serverUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { cliEnv, REPO, trib } from '../../support/cli.ts';

const DAG = JSON.stringify(path.join(REPO, 'schedules/customer_ratings.ts'));
/** The shipped DAG with a column the agency files lack: every load fails on the header. */
const BROKEN_DAG = `import dag from ${DAG};
const load = dag.tasks.load;
const columns = [...load.options.columns, { name: 'missing_column', type: 'text' }];
export default { ...dag, tasks: { ...dag.tasks, load: { ...load, options: { ...load.options, columns } } } };
`;

const databases: TestDatabase[] = [];
const dirs: string[] = [];

async function tempDir(label: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `trib-demo-${label}-`));
  dirs.push(dir);
  return dir;
}

/** A fresh database and home, and a DAG folder holding `source` as customer_ratings.ts. */
async function demoEnv(source: string) {
  const database = await createTestDatabase();
  databases.push(database);
  const dagsDir = await tempDir('dags');
  await fs.writeFile(path.join(dagsDir, 'customer_ratings.ts'), source);
  await fs.writeFile(path.join(dagsDir, 'package.json'), '{ "type": "module" }\n');
  const home = await tempDir('home');
  const env = cliEnv({
    DATABASE_URL: database.url, QUEUE_BACKEND: 'postgres', QUEUE_PREFIX: uniquePrefix('bullmq_demo'), DAGS_DIR: dagsDir, TRIBUTARY_HOME: home,
  });
  return { env, home, database };
}

let good: Awaited<ReturnType<typeof demoEnv>>;

beforeAll(async () => {
  good = await demoEnv(`export { default } from ${DAG};\n`);
});

afterAll(async () => {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  for (const d of databases) await admin.query(`DROP DATABASE IF EXISTS ${d.name}_demo WITH (FORCE)`);
  await admin.end();
  for (const d of databases) await d.drop();
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

it('trib demo customer_ratings --days 2 runs both days and writes the reports the truth expects', { timeout: 90_000 }, async () => {
  const r = await trib(['demo', 'customer_ratings', '--days', '2'], good.env, 90_000);
  expect(r.stderr, r.stdout).toBe('');
  expect(r.code).toBe(0);
  const days = [...r.stdout.matchAll(/^demo run \d+ of customer_ratings for (\S+): success$/gm)].map((m) => m[1].replaceAll('-', ''));
  expect(days).toHaveLength(2);
  expect(r.stdout).toMatch(/all 2 demo run\(s\) succeeded\n$/);

  const dir = path.join(good.home, 'demo/customer_ratings');
  const truth = JSON.parse(await fs.readFile(path.join(dir, 'data/truth.json'), 'utf8')) as W1Truth;
  expect(Object.keys(truth.reports)).toEqual(days);
  for (const day of days) {
    const { file, rows } = truth.reports[day];
    const reportPath = path.join(dir, 'reports', file);
    expect(r.stdout).toContain(`report   ${reportPath} (3 rows)`);
    const lines = (await fs.readFile(reportPath, 'utf8')).trimEnd().split('\n');
    expect(lines.slice(1)).toEqual(rows.map((row) => Object.values(row).join(',')));
  }
  const loaded = truth.files.reduce((n, f) => n + f.valid, 0);
  const rejected = truth.files.reduce((n, f) => n + f.rejected, 0);
  const printed = [...r.stdout.matchAll(/rows\s+(\d+) loaded, (\d+) rejected/g)].map((m) => [Number(m[1]), Number(m[2])]);
  expect(printed.reduce((s, [l, x]) => [s[0] + l, s[1] + x], [0, 0])).toEqual([loaded, rejected]);
});

it('demo rows stay in the demo database: a real run afterwards on the same server holds only its own rows', { timeout: 60_000 }, async () => {
  // The demo above ran; now a user's real W1 run on the user's database, on our own three files.
  const dataDir = await tempDir('real-data');
  const files: Record<string, string[]> = { north: ['1,5,10,high-value', '2,3,10,standard'], south: ['7,2,9,standard'], west: ['8,4,9,standard', 'x,1,1,bad'] };
  for (const [agency, rows] of Object.entries(files)) {
    await fs.writeFile(path.join(dataDir, `${agency}_20250513.csv`), ['customer_number,customer_rating,customer_rating_limit,customer_status', ...rows, ''].join('\n'));
  }
  const dag = compileDag(customerRatings, 'schedules/customer_ratings.ts', builtinKinds());
  const engine = new Engine({
    databaseUrl: good.database.url, queueBackend: 'postgres', queuePrefix: uniquePrefix('bullmq_real'),
    dags: new Map([[dag.id, dag]]), kinds: builtinKinds(), log: pino({ level: 'silent' }), dataRoots: [dataDir],
  });
  try {
    engine.startWorkers({ concurrency: () => 2 });
    const params = { dataDir, reportDir: path.join(dataDir, 'reports') };
    const { runId } = await triggerRun(engine.pool, engine.dispatcher, dag, { date: '2025-05-13', params });
    for (let state = ''; state !== 'success'; ) {
      state = (await good.database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state;
      expect(state).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await engine.close();
  }
  const user = good.database.pool;
  expect((await user.query('SELECT agency, customer_number FROM customer_ratings ORDER BY agency, customer_number')).rows).toEqual([
    { agency: 'north', customer_number: 1 }, { agency: 'north', customer_number: 2 }, { agency: 'south', customer_number: 7 }, { agency: 'west', customer_number: 8 },
  ]);
  expect((await user.query('SELECT count(*)::int AS n FROM audit.customer_ratings_rejects')).rows[0].n).toBe(1);
  expect((await user.query('SELECT count(*)::int AS n FROM dag_runs')).rows[0].n).toBe(1);
  expect((await user.query(`SELECT count(*)::int AS n FROM load_ledger WHERE path NOT LIKE $1`, [`${dataDir}/%`])).rows[0].n).toBe(0);

  // The demo's runs and rows are in its own database, as its truth says.
  const demo = new pg.Client({ connectionString: demoDatabaseUrl(good.database.url) });
  await demo.connect();
  try {
    const truth = JSON.parse(await fs.readFile(path.join(good.home, 'demo/customer_ratings/data/truth.json'), 'utf8')) as W1Truth;
    const lastDay = truth.files.filter((f) => f.date === truth.files.at(-1)!.date);
    expect((await demo.query('SELECT count(*)::int AS n FROM tributary.dag_runs')).rows[0].n).toBe(2);
    expect((await demo.query('SELECT count(*)::int AS n FROM customer_ratings')).rows[0].n).toBe(lastDay.reduce((n, f) => n + f.valid, 0));
  } finally {
    await demo.end();
  }
});

it('a demo run that fails makes trib demo exit 1 with one line naming it', { timeout: 90_000 }, async () => {
  const broken = await demoEnv(BROKEN_DAG);
  const r = await trib(['demo', 'customer_ratings', '--days', '1'], broken.env, 90_000);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^demo run (\d+) of customer_ratings for \S+: failed$/m);
  expect(r.stdout).toMatch(/error\s+load\[0\]: FILE_HEADER_MISMATCH/);
  expect(r.stderr).toMatch(/^trib: TASK_FAILED: 1 of 1 demo run\(s\) did not succeed: run \d+ of customer_ratings failed\n$/);
});

it('trib demo unknown_dag names the known demos and exits 2', async () => {
  const r = await trib(['demo', 'unknown_dag'], good.env);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^trib: ARGUMENT_INVALID: unknown demo "unknown_dag" \(known: [a-z_, ]*\bcustomer_ratings\b[a-z_, ]*\)\n$/);
});
