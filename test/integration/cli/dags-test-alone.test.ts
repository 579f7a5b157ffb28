/**
 * `trib dags test` runs alone, and the CLI finds a database (real processes):
 * - beside a worker and a scheduler role on the same database, engine schema and queues, loaded
 *   with an OLD version of a DAG, `dags test` of the edited version runs the NEW one and succeeds;
 *   the other processes never touch its tasks (no attempt of theirs, none in the engine schema);
 * - a second `dags test` on the database waits for the first, naming its pid;
 * - a running scheduler role reloads an edited DAG file (its log says so; the registry follows) and
 *   keeps the loaded version when an edit does not compile (one error line naming the file);
 * - with no DATABASE_URL and no standalone, `dags test` starts the embedded Postgres under
 *   TRIBUTARY_HOME, succeeds, and stops it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningStandalone } from '../../../cli/find-database.ts';
import { cliEnv, spawnTrib, trib } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { dagFolder } from '../../support/dag-folder.ts';

/** Version 1: one task. Version 2 (the edit): eight parallel tasks and a last one after them. */
const OLD = `export default { id: 'edited', tasks: { a: { kind: 'noop' } } };\n`;
const NEW = `const fan = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => [id, { kind: 'noop' }]));
export default { id: 'edited', tasks: { ...fan, last: { kind: 'noop', upstream: Object.keys(fan) } } };\n`;

let database: TestDatabase;
let base: string;

const folder = (name: string, files: Record<string, string>) => dagFolder(base, name, files);

/** Polls `text()` (a role's log on stderr) until it matches. */
async function waitForText(text: () => string, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = text().match(pattern);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in ${timeoutMs} ms: ${text().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-dags-alone-'));
  await fs.chmod(base, 0o755); // as root, the embedded Postgres runs as `postgres` and must reach its data dir
});

afterAll(async () => {
  await database?.drop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

describe('trib dags test beside running roles on the same database', () => {
  it('runs the edited DAG, and the roles (old version, same schema and queues) never touch it', { timeout: 180_000 }, async () => {
    // Postgres queues (no REDIS_URL), the default engine schema and queue prefix for everyone.
    const env = cliEnv({ DATABASE_URL: database.url, LOG_LEVEL: 'info', SWEEP_INTERVAL_MS: '1000' });
    expect((await trib(['migrate'], env)).code).toBe(0);
    const roleEnv = { ...env, DAGS_DIR: await folder('old', { 'edited.ts': OLD }) };
    const worker = spawnTrib(['worker'], roleEnv);
    const scheduler = spawnTrib(['scheduler'], roleEnv);
    try {
      await waitForText(worker.err, /worker started/);
      await waitForText(scheduler.err, /scheduler running/);
      const r = await trib(['dags', 'test', 'edited', '--date', '2025-05-13'], { ...env, LOG_LEVEL: 'warn', DAGS_DIR: await folder('new', { 'edited.ts': NEW }) }, 120_000);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(/^run \d+ of edited for 2025-05-13.*: success$/);
      for (const task of ['a', 'h', 'last']) expect(lines.find((l) => l.startsWith(`${task} `))).toMatch(new RegExp(`^${task}\\s+success\\s`));
      expect(lines).toContain(`test schema tributary_test, queues tributary_test (no other process sees them): TRIBUTARY_SCHEMA=tributary_test trib run show ${lines[0].split(' ')[1]}`);

      const q = async (sql: string) => (await database.pool.query<{ n: number }>(sql)).rows[0].n;
      expect(await q('SELECT count(*)::int AS n FROM tributary.task_attempts')).toBe(0);
      expect(await q('SELECT count(*)::int AS n FROM tributary.dag_runs')).toBe(0);
      expect(await q('SELECT count(*)::int AS n FROM tributary_test.task_attempts')).toBe(9);
      const { rows } = await database.pool.query<{ worker: string }>('SELECT DISTINCT worker FROM tributary_test.task_attempts');
      for (const role of [worker, scheduler]) expect(rows.map((w) => w.worker)).not.toContainEqual(expect.stringMatching(new RegExp(`:${role.child.pid}$`)));
      expect(rows).toHaveLength(1);
    } finally {
      worker.child.kill('SIGTERM');
      scheduler.child.kill('SIGTERM');
      await Promise.all([worker.exited, scheduler.exited]);
    }
  });

  it('a second dags test on the database waits for the first, saying whose turn it is', { timeout: 120_000 }, async () => {
    const holder = new pg.Client({ connectionString: database.url, application_name: 'trib dags test (pid 4242)' });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(727275, hashtext('tributary_test'))`);
      const env = cliEnv({ DATABASE_URL: database.url, DAGS_DIR: await folder('wait', { 'edited.ts': OLD }) });
      const second = spawnTrib(['dags', 'test', 'edited', '--date', '2025-05-14'], env);
      await waitForText(second.err, /^waiting for the other `trib dags test` on this database \(pid 4242\) to end…$/m);
      // Unlocked, it would have created and run its run by now (it takes ~2 s here).
      await new Promise((r) => setTimeout(r, 5000));
      expect(second.child.exitCode).toBeNull();
      expect(second.out()).toBe('');
      const { rows: [made] } = await database.pool.query<{ ok: boolean }>(`SELECT to_regclass('tributary_test.dag_runs') IS NOT NULL AS ok`);
      if (made.ok) {
        const { rows } = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM tributary_test.dag_runs WHERE logical_date = '2025-05-14'`);
        expect(rows[0].n).toBe(0);
      }
      await holder.query(`SELECT pg_advisory_unlock(727275, hashtext('tributary_test'))`);
      expect(await second.exited).toBe(0);
      expect(second.out().split('\n')[0]).toMatch(/^run \d+ of edited for 2025-05-14.*: success$/);
    } finally {
      await holder.end();
    }
  });

  it('a running scheduler reloads an edited DAG file, and keeps the old version when the edit is broken', { timeout: 120_000 }, async () => {
    const dir = await folder('reload', { 'edited.ts': OLD });
    const env = cliEnv({ DATABASE_URL: database.url, LOG_LEVEL: 'info', DAGS_DIR: dir });
    const scheduler = spawnTrib(['scheduler'], env);
    const tasks = async () =>
      (await database.pool.query<{ task_id: string }>(`SELECT task_id FROM tributary.dag_tasks WHERE dag_id = 'edited' ORDER BY ord`)).rows.map((r) => r.task_id);
    try {
      await waitForText(scheduler.err, /scheduler running/);
      expect(await tasks()).toEqual(['a']);
      await fs.writeFile(path.join(dir, 'edited.ts'), NEW);
      await waitForText(scheduler.err, new RegExp(`reloaded dag edited from ${path.join(dir, 'edited.ts')}`), 10_000);
      expect(await tasks()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'last']);

      await fs.writeFile(path.join(dir, 'edited.ts'), `export default { id: 'edited', tasks: { a: { kind: 'noop', upstream: ['gone'] } } };\n`);
      const [line] = await waitForText(scheduler.err, /^.*dag file not reloaded.*$/m, 10_000);
      expect(JSON.parse(line)).toMatchObject({
        level: 50,
        msg: `dag file not reloaded, the loaded version stays: ${path.join(dir, 'edited.ts')}: dag "edited": task "a": unknown upstream "gone"`,
      });
      expect(await tasks()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'last']);
    } finally {
      scheduler.child.kill('SIGTERM');
      await scheduler.exited;
    }
  });
});

describe('a database found without DATABASE_URL', () => {
  it('a standalone env file counts only while the pid it names is alive', async () => {
    const home = path.join(base, 'home-env');
    await fs.mkdir(home, { recursive: true });
    const write = (pid: number) =>
      fs.writeFile(path.join(home, 'env'), `# written by \`trib standalone\` (pid ${pid}); load it with: . x\nexport DATABASE_URL='postgres://u:it'\\''s@h/db'\n`);
    await write(process.ppid);
    expect(await runningStandalone(home)).toEqual({ pid: process.ppid, vars: { DATABASE_URL: `postgres://u:it's@h/db` } });
    await write(2 ** 22 + 12345); // above Linux's pid_max: never alive
    expect(await runningStandalone(home)).toBeNull();
  });

  it('trib dags test starts the embedded Postgres under TRIBUTARY_HOME, succeeds and stops it', { timeout: 180_000 }, async () => {
    const home = path.join(base, 'home');
    const env = cliEnv({ TRIBUTARY_HOME: home, DAGS_DIR: await folder('embedded', { 'edited.ts': NEW }) });
    const r = await trib(['dags', 'test', 'edited', '--date', '2025-05-13'], env, 150_000);
    // The first line says where the database came from; nothing after it is an error (a sweeper repair
    // under a loaded machine may add a warn line: seen once in CI as `sweeper re-enqueued 1 job(s)`).
    const [first, ...rest] = r.stderr.split('\n').filter(Boolean);
    expect(first).toBe(`starting embedded Postgres in ${path.join(home, 'pg')}… (no DATABASE_URL, no running \`trib standalone\`)`);
    expect(rest.filter((line) => !/"level":40,/.test(line))).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^run \d+ of edited for 2025-05-13.*: success$/);
    // Stopped: no live postmaster left behind.
    expect(await fs.stat(path.join(home, 'pg', 'postmaster.pid')).then(() => true, () => false)).toBe(false);
  });
});
