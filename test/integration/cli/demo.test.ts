/**
 * `trib demo` as a user runs it, on a test database (DATABASE_URL, queues on BullMQ's Postgres
 * backend): W1's demo days run and write the reports their truth expects (exit 0), a run that
 * fails makes the command exit 1, and an unknown demo is one usage line (exit 2).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { W1Truth } from '../../../samples/w1-customer-ratings.ts';
import { createTestDatabase, uniquePrefix, type TestDatabase } from '../../support/db.ts';
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
  return { env, home };
}

let good: Awaited<ReturnType<typeof demoEnv>>;

beforeAll(async () => {
  good = await demoEnv(`export { default } from ${DAG};\n`);
});

afterAll(async () => {
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
