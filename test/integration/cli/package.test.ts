/**
 * The package for real, in ONE project shared by every case (packing and installing take about a
 * minute): `npm pack` this checkout (prepack builds dist/), `trib init` a project depending on the
 * tarball, `npm install` it (test/support/package.ts). There: `npm run typecheck` passes; misspelt
 * options of a shipped kind and of the project's own kind fail `tsc`, naming the option; `trib
 * --help` runs from dist/ without loading tsx; `.env` is read without overriding the environment;
 * a DAG and a custom kind written in the project run with the installed `trib` against the test
 * database, and read back through the installed `tributary/client`.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, REPO } from '../../support/cli.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { installPackedProject, type InstalledProject } from '../../support/package.ts';
import { docBlocks } from '../../support/doc-blocks.ts';
import { onProjectDatabase, runDocBlocks } from './docs-flow.ts';
import { parse } from 'csv-parse/sync';

const exec = promisify(execFile);

/** Registers its options' type with TributaryKinds, as the README says a project's kind does. */
const KIND = `import { defineJobKind, z } from 'tributary';
export const shout = defineJobKind({
  name: 'shout',
  options: z.object({ word: z.string() }),
  async handler(ctx, options) {
    await ctx.client.query('INSERT INTO shouts (run_id, word) VALUES ($1, $2)', [ctx.runId, options.word.toUpperCase()]);
    return { word: options.word.toUpperCase() };
  },
});
declare module 'tributary' {
  interface TributaryKinds {
    shout: z.input<typeof shout.options>;
  }
}
`;
const DAG = `import { defineDag, type LoadOptionsInput } from 'tributary';
const typed: LoadOptionsInput['mode'] = 'append';
export default defineDag({
  id: 'hello',
  description: \`written outside the repo (\${typed})\`,
  tasks: { start: { kind: 'noop' }, shout: { kind: 'shout', upstream: ['start'], options: { word: 'hi' } } },
});
`;
const CLIENT_SCRIPT = `import { connect } from 'tributary/client';
const client = await connect();
console.log(JSON.stringify((await client.runs('hello')).map((r) => [r.id, r.state])));
await client.close();
`;

/** DAG files `tsc -p typecheck-cases` checks: each misspelt one must fail, naming the option; ok.ts must not. */
const LOAD = `source: { file: 'data/orders.csv' }, target: 'orders', mode: 'append'`;
const CASES: Record<string, string> = {
  'shipped.ts': `export default defineDag({ id: 'a', tasks: { load: { kind: 'load', options: { ${LOAD}, columns: [{ name: 'id', type: 'integer' }], rejectLimt: { fail: { ratio: 0.1 } } } } } });`,
  'column.ts': `export default defineDag({ id: 'b', tasks: { load: { kind: 'load', options: { ${LOAD}, columns: [{ name: 'id', type: 'integer', requried: true }] } } } });`,
  'custom.ts': `export default defineDag({ id: 'c', tasks: { say: { kind: 'shout', options: { wrod: 'hi' } } } });`,
  // A kind no project file registers keeps untyped options; optionDefaults may supply a required option.
  'ok.ts': `export default defineDag({
  id: 'd',
  optionDefaults: { report: { outputDir: 'reports' } },
  tasks: {
    other: { kind: 'not_registered', options: { anything: [1, 'two'] } },
    say: { kind: 'shout', options: { word: 'hi' } },
    report: { kind: 'report', options: { query: 'SELECT 1', fileName: 'one_{yyyymmdd}.csv' } },
  },
});`,
};

let root: string;
let pkg: InstalledProject;
let database: TestDatabase | undefined;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-pack-'));
  pkg = await installPackedProject(root);
  await fs.mkdir(path.join(pkg.dir, 'kinds'));
  await fs.writeFile(path.join(pkg.dir, 'kinds', 'shout.ts'), KIND);
  await fs.writeFile(path.join(pkg.dir, 'dags', 'hello.ts'), DAG);
  await fs.writeFile(path.join(pkg.dir, 'check.ts'), CLIENT_SCRIPT);
  const cases = path.join(pkg.dir, 'typecheck-cases');
  await fs.mkdir(cases);
  await fs.writeFile(path.join(cases, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['.', '../kinds'] }));
  for (const [file, text] of Object.entries(CASES)) await fs.writeFile(path.join(cases, file), `import { defineDag } from 'tributary';\n${text}\n`);
}, 600_000);

afterAll(async () => {
  await database?.drop();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** Runs a command in the project; never throws: the exit code is in the result. */
async function inProject(file: string, args: string[], env: NodeJS.ProcessEnv = cliEnv({})) {
  return exec(file, args, { cwd: pkg.dir, env, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout: string; stderr: string }) => ({ code: err.code ?? 1, stdout: err.stdout, stderr: err.stderr }),
  );
}

describe('the type checker in a trib init project', () => {
  it('passes `npm run typecheck` on the project (example DAG, a DAG using a custom kind, the kind)', async () => {
    const r = await inProject('npm', ['run', 'typecheck']);
    expect(r.stdout + r.stderr).not.toMatch(/error TS/);
    expect(r.code).toBe(0);
  });

  it('refuses misspelt options of shipped and custom kinds, naming each, and nothing else', async () => {
    const r = await inProject(path.join(pkg.dir, 'node_modules', '.bin', 'tsc'), ['-p', 'typecheck-cases']);
    expect(r.code).toBe(2);
    const errors = r.stdout.split('\n').filter((l) => / error TS\d+/.test(l));
    const byFile = (file: string) => errors.filter((l) => l.startsWith(`typecheck-cases/${file}(`));
    expect(byFile('shipped.ts')).toEqual([expect.stringMatching(/'rejectLimt' does not exist .*Did you mean to write 'rejectLimit'\?/)]);
    expect(byFile('column.ts')).toEqual([expect.stringMatching(/'requried' does not exist .*Did you mean to write 'required'\?/)]);
    expect(byFile('custom.ts')).toEqual([expect.stringMatching(/'wrod' does not exist in type '\{ word: string; \}'/)]);
    expect(errors).toHaveLength(3); // ok.ts: an unregistered kind and optionDefaults compile
  });
});

describe('the installed trib', () => {
  it('prints --help from dist/ without loading tsx', async () => {
    const trace = path.join(root, 'help-imports.txt');
    const r = await inProject(process.execPath, ['--import', path.join(REPO, 'test', 'support', 'import-trace.mjs'), pkg.trib, '--help'], cliEnv({ IMPORT_TRACE: trace }));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: trib /);
    const loaded = (await fs.readFile(trace, 'utf8')).trim().split('\n');
    expect(loaded).toContain(`file://${path.join(pkg.dir, 'node_modules', 'tributary', 'dist', 'cli', 'main.js')}`);
    expect(loaded.filter((url) => url.includes('/node_modules/tsx/'))).toEqual([]);
    expect(loaded.filter((url) => url.endsWith('.ts'))).toEqual([]);
  });

  it('reads .env from the working directory, never over a variable already set', async () => {
    const written = await fs.readFile(path.join(pkg.dir, '.env'), 'utf8'); // trib init's
    expect(written).toMatch(/^DAGS_DIR=dags$/m);
    await fs.writeFile(path.join(pkg.dir, '.env'), '# a comment\nDAGS_DIR=nowhere\n');
    try {
      const fromFile = await inProject(pkg.trib, ['dags', 'validate']);
      expect(fromFile.code).toBe(2);
      expect(fromFile.stderr).toMatch(/^trib: CONFIG_INVALID: DAGS_DIR nowhere: /);
      const set = await inProject(pkg.trib, ['dags', 'validate'], cliEnv({ DAGS_DIR: 'dags' }));
      expect(set.stderr).toBe('');
      expect(set.stdout).toBe('ok: 2 DAG(s) in 2 file(s): example, hello\n');
    } finally {
      await fs.writeFile(path.join(pkg.dir, '.env'), written);
    }
  });

  // `trib dags test example` with no server running (issue 18 §4) belongs here, on the same project.

  it('runs a DAG and a custom kind written in the project, and reads them through tributary/client', async () => {
    database = await createTestDatabase();
    await database.pool.query('CREATE TABLE public.shouts (run_id bigint, word text)');
    const env = cliEnv({ DATABASE_URL: database.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('tq'), DAGS_DIR: 'dags', LOG_LEVEL: 'warn' });
    const triggered = await inProject(pkg.trib, ['trigger', 'hello', '--date', '2025-05-13'], env);
    expect(triggered.code, triggered.stderr).toBe(0);
    const runId = Number(/^run (\d+) of hello/m.exec(triggered.stdout)?.[1]);
    expect(runId).toBeGreaterThan(0);

    const worker = spawn(pkg.trib, ['worker'], { cwd: pkg.dir, env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    try {
      const until = Date.now() + 60_000;
      let state = '';
      while (!['success', 'failed'].includes(state) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        state = (await database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state;
      }
      expect(state).toBe('success');
    } finally {
      worker.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    const tasks = await database.pool.query('SELECT task_id, state, result FROM task_instances WHERE run_id = $1 ORDER BY task_id', [runId]);
    expect(tasks.rows).toEqual([
      { task_id: 'shout', state: 'success', result: { word: 'HI' } },
      { task_id: 'start', state: 'success', result: { ok: true } },
    ]);
    expect((await database.pool.query('SELECT run_id, word FROM shouts')).rows).toEqual([{ run_id: runId, word: 'HI' }]);

    const listed = await inProject(path.join(pkg.dir, 'node_modules', '.bin', 'tsx'), ['check.ts'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([[runId, 'success']]);
  }, 120_000);
});

describe('the docs, verbatim, in a fresh `trib init` project with no environment', () => {
  let shop: string;
  const page = (name: string) => fs.readFile(path.join(REPO, 'docs', name), 'utf8');

  beforeAll(async () => {
    const init = docBlocks(await page('guide.md')).find((b) => b.kind === 'init');
    // The guide's init block, with the tarball instead of a checkout (`--tributary`, as the guide says).
    expect(init && init.kind === 'init' ? init.lines : []).toEqual(['npx trib init shop', 'cd shop && npm install']);
    await exec(pkg.trib, ['init', 'shop', '--tributary', `file:${pkg.tarball}`], { cwd: root, env: cliEnv({}) });
    shop = path.join(root, 'shop');
    await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: shop, timeout: 400_000 });
    await fs.chmod(root, 0o755); // as root, the embedded Postgres runs as `postgres` and must reach .tributary/pg
  }, 600_000);

  it('docs/guide.md: its blocks run as written, and the numbers it states hold', async () => {
    const guide = await page('guide.md');
    const ran = await runDocBlocks(shop, docBlocks(guide).filter((b) => b.kind !== 'init'), 'docs/guide.md');
    const test = ran.find((r) => r.line.startsWith('npx trib dags test'))!;
    expect(test.stderr).toMatch(/^starting embedded Postgres in \.tributary\/pg/m);
    expect(test.stderr).toContain('shop_orders_20250513.csv: 4 of 8 rows refused (50.00%), above the warn limit ratio 0.01');
    const csv = docBlocks(guide).find((b) => b.kind === 'file' && b.path.endsWith('.csv'));
    const read = (parse(csv && csv.kind === 'file' ? csv.text : '', { columns: true }) as unknown[]).length; // a reference parser
    expect(read).toBe(8);
    expect(test.stdout.split('\n').find((l) => l.startsWith('load '))).toContain(`${read} read, 4 loaded, 4 rejected`);
    const report = await fs.readFile(path.join(shop, 'reports', 'revenue_20250513.csv'), 'utf8');
    expect(report.trim().split('\n')).toEqual(['currency,orders,revenue', 'EUR,2,1247.00', 'USD,2,25.00']);
    await onProjectDatabase(shop, async (client) => {
      const rows = await client.query('SELECT order_id, amount::text FROM public.shop_orders ORDER BY order_id');
      expect(rows.rows).toEqual([
        { order_id: 1001, amount: '1250.00' }, { order_id: 1002, amount: '20.00' }, { order_id: 1003, amount: '5.00' }, { order_id: 1007, amount: '-3.00' },
      ]);
      const coercions = await client.query('SELECT "column", coercion, value, coerced FROM audit.shop_orders_coercions ORDER BY line, id');
      expect(coercions.rows).toEqual(expect.arrayContaining([
        expect.objectContaining({ column: 'amount', coercion: 'thousands_separator', value: '1,250.00' }),
        expect.objectContaining({ column: 'currency', coercion: 'uppercase', value: 'eur', coerced: 'EUR' }),
        expect.objectContaining({ column: 'amount', coercion: 'round', value: '19.999' }),
      ]));
      const checks = await client.query('SELECT check_name, rows_failing::int, outcome FROM tributary_test.check_results ORDER BY check_name');
      expect(checks.rows).toEqual([
        { check_name: 'amount_not_negative', rows_failing: 1, outcome: 'warn' },
        { check_name: 'one_row_per_order', rows_failing: 0, outcome: 'pass' },
      ]);
      // The test run lives in the test schema only: the real engine schema has none.
      expect((await client.query('SELECT count(*)::int AS n FROM tributary.dag_runs')).rows).toEqual([{ n: 0 }]);
    });
  }, 400_000);

  it('docs/custom-kinds.md: the kind and its DAG run as written, and its typed options type-check', async () => {
    const ran = await runDocBlocks(shop, docBlocks(await page('custom-kinds.md')), 'docs/custom-kinds.md');
    expect(ran.find((r) => r.line === 'npx trib dags validate')?.stdout).toBe('ok: 3 DAG(s) in 3 file(s): example, shop_orders, snapshots\n');
    const typecheck = await exec('npm', ['run', 'typecheck'], { cwd: shop }).then(() => 0, (err: { code: number }) => err.code);
    expect(typecheck).toBe(0);
    await onProjectDatabase(shop, async (client) => {
      const taken = await client.query('SELECT label, table_name, row_count FROM public.table_snapshots');
      expect(taken.rows).toEqual([{ label: '20250513', table_name: 'shop_orders', row_count: 4 }]);
    });
  }, 400_000);

  it('`trib dags test example` passes with no server running, and again with a standalone running on the same database', async () => {
    const alone = await exec(pkg.trib, ['dags', 'test', 'example', '--date', '2025-05-13'], { cwd: shop, env: cliEnv({}), timeout: 240_000 });
    expect(alone.stdout).toMatch(/^run \d+ of example for 2025-05-13 06:00:00Z: success$/m);
    const standalone = spawn(pkg.trib, ['standalone'], { cwd: shop, env: cliEnv({ DASHBOARD_PORT: '0' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    standalone.stdout.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => standalone.on('exit', (code) => resolve(code)));
    try {
      const until = Date.now() + 120_000;
      while (!/^ready: dashboard /m.test(out) && standalone.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      expect(out).toMatch(/^ready: dashboard /m);
      const beside = await exec(pkg.trib, ['dags', 'test', 'example', '--date', '2025-05-14'], { cwd: shop, env: cliEnv({}), timeout: 240_000 });
      expect(beside.stderr).toMatch(/^using the running standalone's database \(pid \d+\)$/m);
      expect(beside.stdout).toMatch(/^run \d+ of example for 2025-05-14 06:00:00Z: success$/m);
    } finally {
      standalone.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 400_000);
});
