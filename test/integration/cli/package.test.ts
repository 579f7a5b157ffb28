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
    await fs.writeFile(path.join(pkg.dir, '.env'), '# a comment\nDAGS_DIR=nowhere\n');
    try {
      const fromFile = await inProject(pkg.trib, ['dags', 'validate']);
      expect(fromFile.code).toBe(2);
      expect(fromFile.stderr).toMatch(/^trib: CONFIG_INVALID: DAGS_DIR nowhere: /);
      const set = await inProject(pkg.trib, ['dags', 'validate'], cliEnv({ DAGS_DIR: 'dags' }));
      expect(set.stderr).toBe('');
      expect(set.stdout).toBe('ok: 2 DAG(s) in 2 file(s): example, hello\n');
    } finally {
      await fs.rm(path.join(pkg.dir, '.env'));
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
