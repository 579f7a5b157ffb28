/**
 * The package for real: `npm pack` this checkout, `npm install` the tarball into a fresh project
 * (dependencies from the machine's npm cache, else the registry), write a DAG and a custom kind
 * there importing `tributary`, run it with the installed `trib` (trigger + a worker) against the
 * test database, and read it back through the installed `tributary/client`. Slow: one test.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

const KIND = `import { defineJobKind, z } from 'tributary';
export const shout = defineJobKind({
  name: 'shout',
  options: z.object({ word: z.string() }),
  async handler(ctx, options) {
    await ctx.client.query('INSERT INTO shouts (run_id, word) VALUES ($1, $2)', [ctx.runId, options.word.toUpperCase()]);
    return { word: options.word.toUpperCase() };
  },
});
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

let dir: string | undefined;
let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

it('installs from the packed tarball and runs a DAG and a custom kind written in the project', async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-pack-'));
  const project = path.join(dir, 'project');
  await run('npm', ['pack', '--pack-destination', dir], { cwd: REPO });
  const tarball = (await fs.readdir(dir)).find((f) => f.endsWith('.tgz'))!;
  await fs.mkdir(path.join(project, 'dags'), { recursive: true });
  await fs.mkdir(path.join(project, 'kinds'));
  const pkg = { name: 'outside', private: true, type: 'module', dependencies: { tributary: `file:${path.join(dir, tarball)}` } };
  await fs.writeFile(path.join(project, 'package.json'), JSON.stringify(pkg));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 400_000 });
  await fs.writeFile(path.join(project, 'kinds', 'shout.ts'), KIND);
  await fs.writeFile(path.join(project, 'dags', 'hello.ts'), DAG);
  await fs.writeFile(path.join(project, 'check.ts'), CLIENT_SCRIPT);

  database = await createTestDatabase();
  await database.pool.query('CREATE TABLE public.shouts (run_id bigint, word text)');
  const env = {
    ...process.env, DATABASE_URL: database.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('tq'), DAGS_DIR: 'dags', LOG_LEVEL: 'warn',
  };
  const trib = path.join(project, 'node_modules', '.bin', 'trib');
  const triggered = await run(trib, ['trigger', 'hello', '--date', '2025-05-13'], { cwd: project, env });
  expect(triggered.stdout).toMatch(/^run (\d+) of hello for 2025-05-13 00:00:00Z: created$/m);
  const runId = Number(/^run (\d+)/.exec(triggered.stdout)![1]);

  const worker = spawn(trib, ['worker'], { cwd: project, env, stdio: 'ignore' });
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

  const tsx = path.join(project, 'node_modules', '.bin', 'tsx');
  const listed = await run(tsx, ['check.ts'], { cwd: project, env });
  expect(JSON.parse(listed.stdout)).toEqual([[runId, 'success']]);
}, 600_000);
