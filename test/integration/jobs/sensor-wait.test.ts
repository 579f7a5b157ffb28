/**
 * What a waiting sensor shows, through the real engine, the real `trib run show` and the real
 * /api/runs/:id: what it waits for (pattern, folder, found, next check, deadline), logged once per
 * change and not once per poke; `stableForMs` holds a file that is still changing; and a failed
 * task's error code is printed once.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { taskLogs } from '../../../dashboard/queries.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import { cliEnv, trib } from '../../support/cli.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const DAY = '2025-05-13';
const HOUR = 3600_000;
let root: string;
const dirs = { agencies: '', growing: '', once: '', empty: '', dags: '' };

const dags = (): DagSpec[] => [
  {
    id: 'agencies',
    tasks: {
      wait: {
        kind: 'sensor',
        options: { dir: dirs.agencies, filePattern: '{agency}_{yyyymmdd}.csv', partitionBy: 'agency', minFiles: 3, pokeIntervalMs: 100, timeoutMs: HOUR },
      },
    },
  },
  {
    id: 'growing',
    tasks: { wait: { kind: 'sensor', options: { dir: dirs.growing, filePattern: 'growing.csv', stableForMs: 1500, pokeIntervalMs: 100, timeoutMs: HOUR } } },
  },
  {
    id: 'once',
    tasks: { wait: { kind: 'sensor', options: { dir: dirs.once, filePattern: '*.csv', stableForMs: 3000, pokeIntervalMs: 1000, timeoutMs: HOUR } } },
  },
  {
    id: 'empty_file',
    tasks: {
      load: {
        kind: 'load',
        options: { source: { file: path.join(dirs.empty, 'empty.csv') }, target: 'empty_target', mode: 'append', columns: [{ name: 'a', type: 'text' }] },
      },
    },
  },
];

let t: TestEngine;
let dashboard: Dashboard;
let env: NodeJS.ProcessEnv;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const sensorRow = async (runId: number) =>
  (await t.database.pool.query<{ state: string; pokes: number; ended_at: Date | null; result: { files: { path: string; bytes: number }[] } | null }>(
    `SELECT state, pokes, ended_at, result FROM task_instances WHERE run_id = $1 AND task_id = 'wait'`, [runId],
  )).rows[0];

/** The sensor's log as `trib logs` reads it: its stored lines and the engine's derived ones. */
const logMessages = async (runId: number) => (await taskLogs(t.database.pool, runId, 'wait')).map((l) => l.message);

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'sensor-wait-'));
  for (const key of Object.keys(dirs) as (keyof typeof dirs)[]) {
    dirs[key] = path.join(root, key);
    await fs.mkdir(dirs[key]);
  }
  await fs.writeFile(path.join(dirs.dags, 'package.json'), '{ "type": "module" }\n');
  t = await startTestEngine({ backend: 'redis', dags: dags() });
  dashboard = await startDashboard({ engine: t.engine, host: '127.0.0.1', port: 0, token: null, log: pino({ level: 'silent' }) });
  env = cliEnv({ DATABASE_URL: t.database.url, QUEUE_BACKEND: 'postgres', DAGS_DIR: dirs.dags });
});

afterAll(async () => {
  await dashboard?.close();
  await t?.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('a waiting sensor', () => {
  it('says what it waits for in trib run show and /api/runs/:id, and logs it once per change', { timeout: 60_000 }, async () => {
    await fs.writeFile(path.join(dirs.agencies, 'acme_20250513.csv'), 'a\n');
    await fs.writeFile(path.join(dirs.agencies, 'globex_20250514.csv'), 'another day\n');
    const before = Date.now();
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('agencies')!, { date: DAY });
    await until('six pokes', async () => ((await sensorRow(runId)).pokes >= 6 ? true : undefined));
    const after = Date.now();

    const shown = await trib(['run', 'show', String(runId)], env);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    const line = shown.stdout.split('\n').find((l) => l.startsWith('wait '));
    const m = /waiting for 3 files matching \{agency\}_20250513\.csv in (\S+) \(1 found, (next check in 1 s|next check due now), deadline (?:\d{4}-\d\d-\d\d )?(\d\d:\d\d) UTC\)$/.exec(line ?? '');
    expect(m, shown.stdout).not.toBeNull();
    expect(m![1]).toBe(dirs.agencies);
    const minute = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    expect([minute(before + HOUR), minute(after + HOUR)]).toContain(m![3]);

    const api = (await (await fetch(`${dashboard.url}/api/runs/${runId}`)).json()) as { tasks: { taskId: string; waiting: Record<string, unknown> | null }[] };
    const waiting = api.tasks.find((task) => task.taskId === 'wait')?.waiting;
    expect(waiting).toMatchObject({ wanted: 3, found: 1, stable: 1, pattern: '{agency}_20250513.csv', dir: dirs.agencies });
    expect(String(waiting?.text)).toMatch(/^waiting for 3 files matching /);

    // Six pokes and more, one state: the try's start, the state, the first reschedule — nothing per poke.
    const first = await logMessages(runId);
    expect(first).toHaveLength(3);
    expect(first[0]).toBe('try started');
    expect(first[1]).toMatch(/^waiting for 3 files matching \{agency\}_20250513\.csv in .* \(1 found, /);
    expect(first[2]).toBe('rescheduled');

    await fs.writeFile(path.join(dirs.agencies, 'globex_20250513.csv'), 'b\n');
    await until('the second state logged', async () => ((await logMessages(runId)).length === 4 ? true : undefined));
    const pokesAtTwo = (await sensorRow(runId)).pokes;
    await until('six more pokes', async () => ((await sensorRow(runId)).pokes >= pokesAtTwo + 6 ? true : undefined));
    await fs.writeFile(path.join(dirs.agencies, 'initech_20250513.csv'), 'c\n');
    expect(await t.waitForRun(runId)).toBe('success');

    const all = await logMessages(runId);
    expect(all.slice(0, 3)).toEqual(first);
    expect(all[3]).toMatch(/\(2 found, /);
    expect(all.slice(4)).toEqual(['sensor satisfied', 'try succeeded']);
    const done = (await (await fetch(`${dashboard.url}/api/runs/${runId}`)).json()) as { tasks: { taskId: string; waiting: unknown }[] };
    expect(done.tasks.find((task) => task.taskId === 'wait')?.waiting).toBeNull();
    expect((await sensorRow(runId)).result?.files.map((f) => path.basename(f.path))).toEqual(['acme_20250513.csv', 'globex_20250513.csv', 'initech_20250513.csv']);
  });
});

describe('stableForMs', () => {
  it('does not take a file still being appended to; takes it once unchanged for stableForMs', { timeout: 30_000 }, async () => {
    const file = path.join(dirs.growing, 'growing.csv');
    let written = 0;
    const append = async (text: string) => {
      await fs.appendFile(file, text);
      written += Buffer.byteLength(text);
    };
    await append('id\n');
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('growing')!, { date: DAY });
    for (let i = 0; i < 16; i++) {
      await sleep(150);
      await append(`${i}\n`);
      expect((await sensorRow(runId)).state, `after ${i + 1} appends`).not.toBe('success');
    }
    const lastWrite = Date.now();
    expect(await t.waitForRun(runId)).toBe('success');
    const row = await sensorRow(runId);
    expect(row.ended_at!.getTime() - lastWrite).toBeGreaterThanOrEqual(1500);
    expect(row.result?.files).toEqual([{ path: file, bytes: written, mtimeMs: (await fs.stat(file)).mtimeMs }]);
  });

  it('with stableForMs 3000 and pokes every second, a file that landed at once is taken after 3 s, not after 1 s', { timeout: 30_000 }, async () => {
    await fs.writeFile(path.join(dirs.once, 'landed.csv'), 'id\n1\n');
    const triggered = Date.now();
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('once')!, { date: DAY });
    expect(await t.waitForRun(runId)).toBe('success');
    const row = await sensorRow(runId);
    expect(row.ended_at!.getTime() - triggered).toBeGreaterThanOrEqual(3000);
    expect(row.pokes).toBeGreaterThanOrEqual(3);
  });
});

it('trib run show prints a failed task\'s error code once', { timeout: 30_000 }, async () => {
  await fs.writeFile(path.join(dirs.empty, 'empty.csv'), '');
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('empty_file')!, { date: DAY });
  expect(await t.waitForRun(runId)).toBe('failed');
  const stored = (await t.database.pool.query<{ error_code: string; error: string }>(
    `SELECT error_code, error FROM task_instances WHERE run_id = $1 AND task_id = 'load'`, [runId],
  )).rows[0];
  expect(stored.error_code).toBe('FILE_EMPTY');
  const shown = await trib(['run', 'show', String(runId)], env);
  expect(shown.code).toBe(0);
  const line = shown.stdout.split('\n').find((l) => l.startsWith('load '));
  expect(line).toMatch(/\sFILE_EMPTY: \S/);
  expect(line!.match(/FILE_EMPTY/g)).toHaveLength(1);
});
