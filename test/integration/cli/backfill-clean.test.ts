/**
 * `trib backfill` and `trib db clean` as a user runs them (child processes, fresh database):
 * backfill prints its count first and refuses more than BACKFILL_MAX_RUNS without --yes (exit 2,
 * one line, nothing created); db clean --dry-run prints per-table counts and deletes nothing, and
 * clean says how many old runs it kept as their DAG's latest.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { cliEnv, trib } from '../../support/cli.ts';
import { ok } from '../../support/cli-ok.ts';

const DAG = `export default {
  id: 'cli_hourly',
  schedule: { cron: '0 * * * *', timezone: 'UTC' },
  maxActiveRuns: 2,
  tasks: { only: { kind: 'noop' } },
};
`;

let database: TestDatabase;
let dagsDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  database = await createTestDatabase();
  dagsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-bf-dags-'));
  await fs.writeFile(path.join(dagsDir, 'cli_hourly.ts'), DAG);
  await fs.writeFile(path.join(dagsDir, 'package.json'), '{ "type": "module" }\n');
  env = cliEnv({
    DATABASE_URL: database.url, QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('tbf'),
    DAGS_DIR: dagsDir, BACKFILL_MAX_RUNS: '30',
  });
});

afterAll(async () => {
  await database?.drop();
  if (dagsDir) await fs.rm(dagsDir, { recursive: true, force: true });
});

const count = async (where = 'true') =>
  (await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM dag_runs WHERE ${where}`)).rows[0].n;

describe('trib backfill', () => {
  it('refuses 48 hourly runs over BACKFILL_MAX_RUNS=30 without --yes: exit 2, one line, nothing created', async () => {
    const r = await trib(['backfill', 'cli_hourly', '--from', '2025-05-12', '--to', '2025-05-13'], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'trib: BACKFILL_TOO_LARGE: backfill of "cli_hourly" from 2025-05-12 to 2025-05-13 is 48 runs, more than BACKFILL_MAX_RUNS=30; pass --yes to create them\n',
    );
    expect(await count()).toBe(0);
  });

  it('with --yes prints the count first and creates every hourly interval once; again creates none', async () => {
    const out = ok(await trib(['backfill', 'cli_hourly', '--from', '2025-05-12', '--to', '2025-05-13', '--yes'], env)).trim().split('\n');
    expect(out[0]).toBe('backfill of cli_hourly from 2025-05-12 to 2025-05-13: 48 run(s)');
    expect(out[1]).toMatch(/^run \d+ 2025-05-12 00:00:00Z created$/);
    expect(out.at(-1)).toBe('48 run(s) created, 0 already existed');
    expect(await count(`run_type = 'backfill'`)).toBe(48);
    const again = ok(await trib(['backfill', 'cli_hourly', '--from', '2025-05-13', '--to', '2025-05-13'], env)).trim().split('\n');
    expect(again.at(-1)).toBe('0 run(s) created, 24 already existed');
    expect(await count()).toBe(48);
  });
});

describe('trib db clean', () => {
  it('--dry-run prints rows per table and deletes nothing; then clean deletes exactly the old ended runs', async () => {
    // The 12 runs of 2025-05-12 00:00–11:00 ended 40 days ago, 6 more ended 10 days ago; the rest are queued/running.
    await database.pool.query(
      `UPDATE dag_runs SET state = 'success', ended_at = now() - interval '40 days' WHERE logical_date < '2025-05-12T12:00:00Z'`,
    );
    await database.pool.query(
      `UPDATE dag_runs SET state = 'failed', ended_at = now() - interval '10 days'
       WHERE logical_date >= '2025-05-12T12:00:00Z' AND logical_date < '2025-05-12T18:00:00Z'`,
    );
    const dry = ok(await trib(['db', 'clean', '--older-than', '30d', '--dry-run'], env));
    expect(dry).toMatch(/\(dry run: nothing deleted\)/);
    expect(dry).toMatch(/^dag_runs\s+12$/m);
    expect(dry).toMatch(/^task_instances\s+12$/m);
    expect(dry).toMatch(/^24 row\(s\) would be deleted$/m);
    expect(await count()).toBe(48);

    const done = ok(await trib(['db', 'clean', '--older-than', '30d', '--dag', 'cli_hourly'], env));
    expect(done).toMatch(/^dag_runs\s+12$/m);
    expect(done).toMatch(/^24 row\(s\) deleted$/m);
    expect(await count()).toBe(36);
    expect(await count(`logical_date < '2025-05-12T12:00:00Z'`)).toBe(0);
    expect(await count(`state = 'failed'`)).toBe(6);

    // Every run old and ended: all go but the DAG's latest backfill run, and the output says so.
    await database.pool.query(`UPDATE dag_runs SET state = 'success', ended_at = now() - interval '40 days'`);
    const all = ok(await trib(['db', 'clean', '--older-than', '30d'], env));
    expect(all).toMatch(/^dag_runs\s+35$/m);
    expect(all).toMatch(/^1 run\(s\) that ended before the cutoff kept: each is its DAG's latest run of its type$/m);
    expect((await database.pool.query(`SELECT logical_date AS d FROM dag_runs`)).rows).toEqual([{ d: new Date('2025-05-13T23:00:00Z') }]);
  });

  it('rejects an age it cannot read with exit 2 and one line', async () => {
    const r = await trib(['db', 'clean', '--older-than', '30x'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--older-than "30x" must be a number of days or hours/);
  });
});
