/**
 * `trib standalone` end to end: embedded Postgres under TRIBUTARY_HOME, BullMQ on the Postgres
 * backend, dashboards on free ports; the W1 demo run must succeed (seen through the demo dashboard's
 * API) and write the report its generated data's truth expects, its rows in the demo database and
 * none in the user's; its start message counts the paused DAGs; a DAG file added while it runs is
 * loaded; a command without DATABASE_URL finds its database; SIGINT must stop everything with exit 0.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { W1Truth } from '../../../samples/w1-customer-ratings.ts';
import { cliEnv, REPO, spawnTrib, trib as tribCommand } from '../../support/cli.ts';

let home: string;
let dagsDir: string;

beforeAll(async () => {
  home = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-standalone-'));
  await fs.chmod(home, 0o755); // as root, Postgres runs as `postgres` and must reach its data dir
  dagsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-standalone-dags-'));
  // Only the demo DAG (other DAGs in schedules/ would add their own scheduled runs).
  const dag = path.join(REPO, 'schedules/customer_ratings.ts');
  await fs.writeFile(path.join(dagsDir, 'customer_ratings.ts'), `export { default } from ${JSON.stringify(dag)};\n`);
  await fs.writeFile(path.join(dagsDir, 'package.json'), '{ "type": "module" }\n');
});

afterAll(async () => {
  for (const dir of [home, dagsDir]) if (dir) await fs.rm(dir, { recursive: true, force: true });
});

it('starts everything, runs W1 on generated data, writes its report, and stops cleanly on SIGINT', { timeout: 120_000 }, async () => {
  const trib = spawnTrib(['standalone'], cliEnv({ TRIBUTARY_HOME: home, DASHBOARD_PORT: '0', DAGS_DIR: dagsDir, SWEEP_INTERVAL_MS: '1000' }));
  try {
    const [, url] = await trib.waitFor(/^ready: dashboard (http:\/\/127\.0\.0\.1:\d+)$/m, 90_000);
    const token = /^\s+Token\s+(\S+)/m.exec(trib.out())?.[1] ?? '';
    const runId = Number(/Demo run\s+customer_ratings run (\d+)/.exec(trib.out())?.[1]);
    const demoUrl = /^\s+Demo\s+(http:\/\/127\.0\.0\.1:\d+)\/\s/m.exec(trib.out())?.[1];
    expect(demoUrl).toBeDefined();
    expect(demoUrl).not.toBe(url);
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(runId).toBeGreaterThan(0);
    expect(trib.out()).toMatch(/Database\s+postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+/);
    expect(trib.out().split('\n')).toContain(
      `1 DAG(s) from ${dagsDir}: 1 paused — new DAGs start paused: \`trib unpause <dag>\` turns its schedule on, ` +
        '`trib trigger <dag>` runs it now. Edited DAG files are reloaded.',
    );

    // A DAG file added while it runs is loaded (its log says so), and a command with no
    // DATABASE_URL finds the standalone's database through its env file.
    await fs.writeFile(path.join(dagsDir, 'extra.ts'), `export default { id: 'extra', tasks: { a: { kind: 'noop' } } };\n`);
    for (const deadline = Date.now() + 15_000; !trib.err().includes(`reloaded dag extra from ${path.join(dagsDir, 'extra.ts')}`); ) {
      if (Date.now() > deadline) throw new Error(`no reload line: ${trib.err().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const list = await tribCommand(['dags', 'list'], cliEnv({ TRIBUTARY_HOME: home }));
    expect(list.stderr).toBe(`using the running standalone's database (pid ${trib.child.pid})\n`);
    expect(list.stdout).toMatch(/^customer_ratings\s/m);
    expect(list.stdout).toMatch(/^extra\s+manual\s/m);

    const headers = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/api/health`)).status).toBe(401);
    const health = await fetch(`${url}/api/health`, { headers });
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', queues: { ok: true, backend: 'postgres' } });

    let state = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && state !== 'success'; ) {
      state = ((await (await fetch(`${demoUrl}/api/runs/${runId}`, { headers })).json()) as { state: string }).state;
      if (state !== 'success') await new Promise((r) => setTimeout(r, 250));
    }
    expect(state).toBe('success');

    const [, day, report] = await trib.waitFor(/^demo run \d+ of customer_ratings for (\S+): success\n(?:.*\n)*?\s+report\s+(\S+) \(3 rows\)$/m);
    expect(report).toBe(path.join(home, 'demo/customer_ratings/reports', `Customer_Rating_Aggregate_Report_${day.replaceAll('-', '')}.csv`));
    const truth = JSON.parse(await fs.readFile(path.join(home, 'demo/customer_ratings/data/truth.json'), 'utf8')) as W1Truth;
    const expected = truth.reports[day.replaceAll('-', '')].rows;
    const lines = (await fs.readFile(report, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe(Object.keys(expected[0]).join(','));
    expect(lines.slice(1)).toEqual(expected.map((r) => Object.values(r).join(',')));

    const envFile = path.join(home, 'env');
    expect((await fs.stat(envFile)).mode & 0o777).toBe(0o600);
    const userDb = /^export DATABASE_URL='(postgres:\/\/postgres:tributary@127\.0\.0\.1:\d+\/postgres)'$/m.exec(await fs.readFile(envFile, 'utf8'))?.[1];
    const demoDb = /^export DATABASE_URL='(postgres:\/\/postgres:tributary@127\.0\.0\.1:\d+\/postgres_demo)'$/m.exec(
      await fs.readFile(path.join(home, 'demo-env'), 'utf8'),
    )?.[1];
    // The demo's rows are in the demo database, as its truth says; the user's database has none.
    const count = async (url: string | undefined, sql: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ n: number }>(sql)).rows[0].n;
      } finally {
        await client.end();
      }
    };
    const valid = truth.files.filter((f) => f.date === day).reduce((n, f) => n + f.valid, 0);
    expect(valid).toBeGreaterThan(0);
    expect(await count(demoDb, 'SELECT count(*)::int AS n FROM customer_ratings')).toBe(valid);
    expect(await count(userDb, `SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'customer_ratings'`)).toBe(0);
    expect(await count(userDb, 'SELECT count(*)::int AS n FROM tributary.load_ledger')).toBe(0);

    trib.child.kill('SIGINT');
    expect(await trib.exited).toBe(0);
    expect(trib.out()).toMatch(/stopped\n$/);
    await expect(fs.stat(envFile)).rejects.toThrow();
  } finally {
    if (trib.child.exitCode === null) {
      trib.child.kill('SIGKILL');
      await trib.exited;
    }
  }
});
