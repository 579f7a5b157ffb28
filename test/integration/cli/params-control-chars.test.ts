/**
 * A run param holding a newline (and other control characters) through the real `trib`: `run show`
 * prints it escaped on the params line, never as a line of its own; a sensor whose folder renders
 * that param fails with OPTIONS_INVALID naming it (no retry), and nothing it prints is forged.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { cliEnv, spawnTrib, trib } from '../../support/cli.ts';
import { ok } from '../../support/cli-ok.ts';

const DAG = `export default {
  id: 'forge',
  params: { dataDir: 'unset', note: '' },
  tasks: {
    wait: { kind: 'sensor', retries: 2, retryDelayMs: 10, options: { dir: '{params.dataDir}', filePattern: '*.csv', timeoutMs: 60000 } },
  },
};
`;
const FORGED = 'run 1 of forge — success';
const UNPRINTABLE = /[\p{Cc}\u2028\u2029]/u;

let database: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-cli-forge-'));
  await fs.mkdir(path.join(dir, 'dags'));
  await fs.writeFile(path.join(dir, 'dags', 'forge.ts'), DAG);
  await fs.writeFile(path.join(dir, 'dags', 'package.json'), '{ "type": "module" }\n');
  env = cliEnv({
    DATABASE_URL: database.url, QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('tforge'),
    DAGS_DIR: path.join(dir, 'dags'), DATA_ROOTS: dir, SWEEP_INTERVAL_MS: '1000',
  });
  ok(await trib(['migrate'], env));
});
afterAll(async () => {
  await database?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** `run show` output: no control character but the line breaks, and no line that only a value could have made. */
function expectNoForgedLine(shown: string): string[] {
  const lines = shown.trimEnd().split('\n');
  expect(lines.filter((l) => UNPRINTABLE.test(l))).toEqual([]);
  expect(lines.filter((l) => l.startsWith('run '))).toHaveLength(1);
  expect(lines.filter((l) => l.includes(FORGED))).toHaveLength(1); // the params line only
  return lines;
}

describe('control characters in run params', () => {
  it('run show escapes them; the sensor rendering one into its folder fails at once with OPTIONS_INVALID', async () => {
    const params = { dataDir: `${dir}/in\n${FORGED}`, note: `a\r\n${FORGED}\u0085\u2028\u001b[2J` };
    const out = ok(await trib(['trigger', 'forge', '--date', '2025-05-13', '--params', JSON.stringify(params)], env));
    const runId = Number(/run (\d+) of forge/.exec(out)?.[1]);
    const before = expectNoForgedLine(ok(await trib(['run', 'show', String(runId)], env)));
    // jsonb orders keys shortest first
    expect(before).toContain(`params {"note":"a\\r\\n${FORGED}\\u0085\\u2028\\u001b[2J","dataDir":"${dir}/in\\n${FORGED}"}`);

    const worker = spawnTrib(['worker', '--queues', 'sensor'], env);
    try {
      const deadline = Date.now() + 60_000;
      const state = async () => (await database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state;
      while ((await state()) !== 'failed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    const { rows } = await database.pool.query<{ state: string; error_code: string; try_number: number }>(
      `SELECT state, error_code, try_number FROM task_instances WHERE run_id = $1 AND task_id = 'wait'`, [runId],
    );
    expect(rows).toEqual([{ state: 'failed', error_code: 'OPTIONS_INVALID', try_number: 1 }]); // permanent: retries unused
    const after = expectNoForgedLine(ok(await trib(['run', 'show', String(runId)], env)));
    expect(after.find((l) => l.startsWith('wait '))).toMatch(
      /^wait\s+failed\s+1\/3\s+\S+\s+OPTIONS_INVALID: param "dataDir" holds control character U\+000A at index \d+, which/,
    );
  }, 150_000); // four `trib` processes and a worker: slow on a loaded machine
});
