/**
 * `trib` as a user runs it: a child process per command against a fresh database, Redis queues
 * and a temp DAG folder. Every error case must exit non-zero with one stderr line, no stack.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { cliEnv, spawnTrib, trib } from '../../support/cli.ts';
import { ok } from '../../support/cli-ok.ts';

const DAG = `export default {
  id: 'cli_demo',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  params: { agency: 'south' },
  tasks: {
    first: { kind: 'noop', options: { result: { n: 1 } } },
    second: { kind: 'noop', upstream: ['first'] },
  },
};
`;

let database: TestDatabase;
let dagsDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  database = await createTestDatabase();
  dagsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-cli-dags-'));
  await fs.writeFile(path.join(dagsDir, 'cli_demo.ts'), DAG);
  await fs.writeFile(path.join(dagsDir, 'package.json'), '{ "type": "module" }\n'); // ESM like the project
  env = cliEnv({
    DATABASE_URL: database.url,
    QUEUE_BACKEND: 'redis',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: uniquePrefix('tcli'),
    DAGS_DIR: dagsDir,
    SWEEP_INTERVAL_MS: '1000',
  });
});

afterAll(async () => {
  await database?.drop();
  if (dagsDir) await fs.rm(dagsDir, { recursive: true, force: true });
});


const runState = async (runId: number) =>
  (await database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0]?.state;

describe('trib', () => {
  let runId: number;

  it('migrate applies (idempotently) and never prints the password', async () => {
    const out = ok(await trib(['migrate'], env));
    expect(out).toMatch(/migrations applied to postgres:\/\/postgres:\*\*\*@/);
  });

  it('dags list shows the DAG folder', async () => {
    const out = ok(await trib(['dags', 'list'], env));
    expect(out).toMatch(/cli_demo\s+0 6 \* \* \* UTC\s+not registered\s+2/);
  });

  it('trigger creates a run that run show displays, a worker runs it, logs shows its lines', async () => {
    const out = ok(await trib(['trigger', 'cli_demo', '--date', '2025-05-13', '--params', '{"agency":"north"}'], env));
    runId = Number(/run (\d+) of cli_demo for 2025-05-13 06:00:00Z: created/.exec(out)?.[1]);
    expect(runId).toBeGreaterThan(0);
    const shown = ok(await trib(['run', 'show', String(runId)], env));
    expect(shown).toMatch(/run \d+ of cli_demo — running/);
    expect(shown).toMatch(/first\s+queued\s+1\/1/);
    const json = JSON.parse(ok(await trib(['run', 'show', String(runId), '--json'], env))) as { params: object; tasks: unknown[] };
    expect(json.params).toEqual({ agency: 'north' });
    expect(json.tasks).toHaveLength(2);

    const worker = spawnTrib(['worker', '--queues', 'noop'], env);
    const deadline = Date.now() + 30_000;
    while ((await runState(runId)) !== 'success' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await runState(runId)).toBe('success');

    expect(ok(await trib(['run', 'show', String(runId)], env))).toMatch(/first\s+success\s+1\/1\s+\S+\s+\{"n":1\}/);
    const logs = ok(await trib(['logs', String(runId), 'first'], env));
    expect(logs).toMatch(/INFO\s+try 1\s+try started/);
    expect(logs).toMatch(/try succeeded/);
  });

  it('task clear --downstream and task mark move the run', async () => {
    expect(ok(await trib(['task', 'clear', String(runId), 'first', '--downstream'], env))).toMatch(/cleared in run \d+: first, second/);
    expect(await runState(runId)).toBe('running');
    ok(await trib(['task', 'mark', String(runId), 'first', 'failed'], env));
    expect(await runState(runId)).toBe('failed');
  });

  it('pause and unpause flip the registry flag', async () => {
    const paused = async () =>
      (await database.pool.query<{ paused: boolean }>(`SELECT paused FROM dags WHERE dag_id = 'cli_demo'`)).rows[0]?.paused;
    expect(ok(await trib(['pause', 'cli_demo'], env))).toMatch(/cli_demo paused/);
    expect(await paused()).toBe(true);
    expect(ok(await trib(['dags', 'list'], env))).toMatch(/cli_demo\s+0 6 \* \* \* UTC\s+paused\s/);
    ok(await trib(['unpause', 'cli_demo'], env));
    expect(await paused()).toBe(false);
  });

  it('backfill creates exactly one run per day and is idempotent', async () => {
    const out = ok(await trib(['backfill', 'cli_demo', '--from', '2025-04-01', '--to', '2025-04-03'], env));
    expect(out).toMatch(/3 run\(s\) created, 0 already existed/);
    const count = async () =>
      (await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM dag_runs WHERE dag_id = 'cli_demo' AND run_type = 'backfill'`)).rows[0].n;
    expect(await count()).toBe(3);
    expect(ok(await trib(['backfill', 'cli_demo', '--from', '2025-04-02', '--to', '2025-04-03'], env))).toMatch(/0 run\(s\) created, 2 already existed/);
    expect(await count()).toBe(3);
    expect(ok(await trib(['runs', 'cli_demo', '--limit', '2'], env)).trim().split('\n')).toHaveLength(3);
  });

  it('run-task runs one task in-process with its upstream results and prints the result', async () => {
    const r = await trib(['run-task', 'cli_demo', 'first', '--date', '2025-06-01'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cli_demo\.first for 2025-06-01 06:00:00Z \(run \d+, created\): succeeded/);
    expect(r.stdout).toContain('"n": 1');
    const { rows } = await database.pool.query<{ state: string }>(
      `SELECT ti.state FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
       WHERE r.dag_id = 'cli_demo' AND r.logical_date = '2025-06-01T06:00:00Z' AND ti.task_id = 'first'`,
    );
    expect(rows.map((row) => row.state)).toEqual(['none']); // task state untouched
  });

  it('has --help on every command', async () => {
    const r = await trib(['task', 'clear', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: trib task clear \[options\] <run-id> <task>/);
    expect(r.stdout).toContain('--downstream');
  });

  const errorCases: Array<[string, string[], Record<string, string>, RegExp, number]> = [
    ['unknown DAG', ['trigger', 'nope'], {}, /^trib: DAG_NOT_FOUND: unknown dag "nope" \(known: cli_demo\)$/, 2],
    ['runs of an unregistered DAG', ['runs', 'nope'], {}, /^trib: DAG_NOT_FOUND: dag "nope" is not registered in this database/, 2],
    ['impossible date', ['trigger', 'cli_demo', '--date', '2025-02-30'], {}, /^trib: ARGUMENT_INVALID: date "2025-02-30"/, 2],
    ['bad JSON params', ['trigger', 'cli_demo', '--params', '{bad'], {}, /^trib: ARGUMENT_INVALID: --params is not valid JSON/, 2],
    ['params not an object', ['trigger', 'cli_demo', '--params', '[1]'], {}, /^trib: ARGUMENT_INVALID: --params must be a JSON object/, 2],
    ['unknown run', ['run', 'show', '987654'], {}, /^trib: RUN_NOT_FOUND: run 987654 does not exist$/, 2],
    ['run id not a number', ['logs', 'abc', 'first'], {}, /^trib: ARGUMENT_INVALID: run id "abc"/, 2],
    ['unknown task', ['run-task', 'cli_demo', 'nope', '--date', '2025-05-13'], {}, /^trib: TASK_NOT_FOUND: dag "cli_demo" has no task "nope"/, 2],
    ['bad config value', ['dags', 'list'], { QUEUE_BACKEND: 'kafka' }, /^trib: CONFIG_INVALID: .*QUEUE_BACKEND: .*kafka/, 2],
    ['unknown command', ['dag', 'list'], {}, /^trib: USAGE: unknown command 'dag'/, 2],
    ['missing option', ['backfill', 'cli_demo', '--from', '2025-01-01'], {}, /^trib: USAGE: required option '--to <YYYY-MM-DD>' not specified$/, 2],
    ['bad mark state', ['task', 'mark', '1', 'first', 'done'], {}, /^trib: USAGE: .*'done'.*success, failed/, 2],
    ['database down', ['dags', 'list'], { DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' }, /^trib: ECONNREFUSED: /, 1],
  ];

  it.each(errorCases)('%s → one stderr line, no stack', async (_name, args, extra, pattern, code) => {
    const r = await trib(args, { ...env, ...extra });
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at |\bat .*:\d+:\d+\)?$/m);
    expect(r.stderr).not.toContain('secret');
  });
});
