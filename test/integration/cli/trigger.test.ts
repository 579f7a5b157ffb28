/**
 * `trib trigger` never does nothing in silence, as a user runs it (a child process per command, no
 * worker, DAGS_PAUSED_AT_CREATION at its default): a new DAG is paused at creation yet its manual
 * runs start; each trigger without --date is a new run; a run waiting for its slot or for an
 * operator's unpause says why (trigger, `run show`); an existing date says what it is, other params
 * are RUN_EXISTS (exit 2); `unpause` counts what the schedule creates next; `run clear` re-runs a run.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { cliEnv, trib } from '../../support/cli.ts';
import { ok } from '../../support/cli-ok.ts';

const DAG = `export default {
  id: 'cli_trig',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  params: { file: 'a.csv' },
  tasks: { first: { kind: 'noop' }, second: { kind: 'noop', upstream: ['first'] } },
};
`;

let database: TestDatabase;
let dagsDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  database = await createTestDatabase();
  dagsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-trigger-dags-'));
  await fs.writeFile(path.join(dagsDir, 'cli_trig.ts'), DAG);
  await fs.writeFile(path.join(dagsDir, 'package.json'), '{ "type": "module" }\n');
  env = cliEnv({ DATABASE_URL: database.url, QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('ttrg'), DAGS_DIR: dagsDir });
});

afterAll(async () => {
  await database?.drop();
  if (dagsDir) await fs.rm(dagsDir, { recursive: true, force: true });
});

const runIdOf = (line: string) => Number(/^run (\d+) of cli_trig /.exec(line)?.[1]);

describe('trib trigger', () => {
  let first: number;

  it('starts a new manual run of a DAG paused at creation at once; the next one waits for the slot and says so', async () => {
    const one = ok(await trib(['trigger', 'cli_trig'], env)).trim();
    expect(one).toMatch(/^run \d+ of cli_trig for \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{3})?Z: created, started$/);
    first = runIdOf(one);
    const two = ok(await trib(['trigger', 'cli_trig', '--params', '{"file":"b.csv"}'], env)).trim();
    expect(runIdOf(two)).toBe(first + 1);
    expect(two).toMatch(new RegExp(`: created, waiting: waiting for run ${first} \\(maxActiveRuns 1\\), which has task first queued for a worker$`));
    expect(ok(await trib(['dags', 'list'], env))).toMatch(/cli_trig\s+0 6 \* \* \* UTC\s+paused \(new: schedule off\)\s+2/);
  });

  it('an existing date: the same params say it exists and start nothing (exit 0), other params are RUN_EXISTS naming both (exit 2)', async () => {
    const made = ok(await trib(['trigger', 'cli_trig', '--date', '2025-05-13'], env)).trim();
    const id = runIdOf(made);
    const waiting = `waiting for run ${first} (maxActiveRuns 1), which has task first queued for a worker`;
    expect(made).toBe(`run ${id} of cli_trig for 2025-05-13 06:00:00Z: created, waiting: ${waiting}`);
    expect(ok(await trib(['trigger', 'cli_trig', '--date', '2025-05-13'], env)).trim()).toBe(
      `run ${id} of cli_trig for 2025-05-13 06:00:00Z already exists (queued: ${waiting}): nothing started`);
    const other = await trib(['trigger', 'cli_trig', '--date', '2025-05-13', '--params', '{"file":"c.csv"}'], env);
    expect(other.code).toBe(2);
    expect(other.stderr.trim()).toBe(`trib: RUN_EXISTS: run ${id} of "cli_trig" for 2025-05-13 already exists with params {"file":"a.csv"}, `
      + `not these: {"file":"c.csv"}. \`trib run clear ${id}\` runs it again with its own params; a trigger without a date makes a new manual run with these`);
  });

  it("an operator's pause: the trigger and `run show` say the run waits for it; unpause counts what the schedule creates next", async () => {
    expect(ok(await trib(['pause', 'cli_trig'], env))).toMatch(/^dag cli_trig paused: /);
    const held = ok(await trib(['trigger', 'cli_trig'], env)).trim();
    expect(held).toMatch(/: created, waiting: dag cli_trig was paused by an operator \(trib unpause cli_trig\)$/);
    const shown = ok(await trib(['run', 'show', String(runIdOf(held))], env)).split('\n');
    expect(shown[0]).toBe(`run ${runIdOf(held)} of cli_trig — queued`);
    expect(shown[3]).toBe('queued: dag cli_trig was paused by an operator (trib unpause cli_trig)');
    expect(ok(await trib(['unpause', 'cli_trig'], env)).trim()).toMatch(
      /^dag cli_trig unpaused: its schedule 0 6 \* \* \* UTC creates runs from now on; the scheduler's next pass \(\d{4}-\d\d-\d\d 06:00 UTC\) creates 1 run \(catchup off: only the latest interval\)$/);
  });

  it('run clear runs every task of a run again', async () => {
    expect(ok(await trib(['run', 'clear', String(first)], env)).trim()).toBe(`run ${first} of cli_trig cleared (2 tasks: first, second): running`);
    const { rows } = await database.pool.query<{ task_id: string; state: string; max_tries: number }>(
      'SELECT task_id, state, max_tries FROM task_instances WHERE run_id = $1 ORDER BY task_id', [first]);
    expect(rows).toEqual([{ task_id: 'first', state: 'queued', max_tries: 2 }, { task_id: 'second', state: 'none', max_tries: 1 }]);
  });
});
