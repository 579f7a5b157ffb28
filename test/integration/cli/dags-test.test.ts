/**
 * `trib dags test`, `trib dags validate` and typed params through the real CLI (child processes):
 * a good and a failing DAG against a fresh database and Redis queues; exit codes and the one-line
 * errors a user sees.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, REPO, trib } from '../../support/cli.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { dagFolder } from '../../support/dag-folder.ts';

/** A load of `{params.dataDir}/people.csv` (one refused row), then a report over the table. */
const GOOD = `export default {
  id: 'good',
  params: { dataDir: 'unset' },
  tasks: {
    load: { kind: 'load', options: {
      source: { file: '{params.dataDir}/people.csv' }, target: 'people', mode: 'append',
      columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text' }],
    } },
    report: { kind: 'report', upstream: ['load'], options: { query: 'SELECT id, name FROM people ORDER BY id', outputDir: '{params.dataDir}', fileName: 'people_{yyyymmdd}.csv' } },
  },
};
`;

/** Its load's file is never there: the load fails, the report is upstream_failed. */
const FAILING = `export default {
  id: 'failing',
  params: { dataDir: 'unset' },
  tasks: {
    load: { kind: 'load', options: { source: { file: '{params.dataDir}/missing.csv' }, target: 'nobody', columns: [{ name: 'id', type: 'integer' }] } },
    after: { kind: 'noop', upstream: ['load'] },
  },
};
`;

const BROKEN = {
  'cycle.ts': `export default { id: 'cycle', tasks: { a: { kind: 'noop', upstream: ['b'] }, b: { kind: 'noop', upstream: ['a'] } } };\n`,
  'template.ts': `export default { id: 'template', params: { dataDir: 'x' }, tasks: { r: { kind: 'report', options: { query: 'SELECT 1', outputDir: '{params.dataDri}', fileName: 'r.csv' } } } };\n`,
  'upstream.ts': `export default { id: 'upstream', tasks: { a: { kind: 'noop', upstream: ['nope'] } } };\n`,
  'options.ts': `export default { id: 'options', tasks: { a: { kind: 'load', options: { source: { file: 'x.csv' }, target: 'x', columns: [{ name: 'id', type: 'integer' }], mode: 'merge' } } } };\n`,
};

// Generator truth: 4 data lines, the third's id is not an integer.
const PEOPLE = 'id,name\n1,ann\n2,bob\nthree,cy\n4,dee\n';

let database: TestDatabase;
let base: string;
let dataDir: string;
let env: NodeJS.ProcessEnv;

const folder = (name: string, files: Record<string, string>) => dagFolder(base, name, files);

beforeAll(async () => {
  database = await createTestDatabase();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-dags-test-'));
  dataDir = path.join(base, 'data');
  await fs.mkdir(dataDir);
  await fs.writeFile(path.join(dataDir, 'people.csv'), PEOPLE);
  env = cliEnv({
    DATABASE_URL: database.url,
    QUEUE_BACKEND: 'redis',
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: uniquePrefix('tdt'),
    DAGS_DIR: await folder('dags', { 'good.ts': GOOD, 'failing.ts': FAILING }),
    DATA_ROOTS: dataDir,
  });
  const migrated = await trib(['migrate'], env);
  expect(migrated.code, migrated.stderr).toBe(0);
});

afterAll(async () => {
  await database?.drop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

describe('trib dags test', () => {
  it('runs a good DAG to success and prints each task with its rows: exit 0', async () => {
    const r = await trib(['dags', 'test', 'good', '--date', '2025-05-13', '--params', JSON.stringify({ dataDir })], env, 90_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^run \d+ of good for 2025-05-13.*: success$/);
    const runId = lines[0].split(' ')[1];
    expect(lines).toContain(`test schema tributary_test, queues ${env.QUEUE_PREFIX}_test (no other process sees them): TRIBUTARY_SCHEMA=tributary_test trib run show ${runId}`);
    // The run is in the test schema only; the engine schema has none.
    const { rows: runs } = await database.pool.query<{ schema: string; n: number }>(
      `SELECT 'tributary' AS schema, count(*)::int AS n FROM tributary.dag_runs UNION ALL SELECT 'test', count(*)::int FROM tributary_test.dag_runs WHERE id = $1`, [Number(runId)],
    );
    expect(runs).toEqual([{ schema: 'tributary', n: 0 }, { schema: 'test', n: 1 }]);
    expect(lines.find((l) => l.startsWith('load '))).toMatch(/^load\s+success\s+.*\s4 read, 3 loaded, 1 rejected\s/);
    expect(lines.find((l) => l.startsWith('report '))).toMatch(/^report\s+success\s+.*\s3 written\s/);
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM people');
    expect(rows[0].n).toBe(3);
    const report = await fs.readFile(path.join(dataDir, 'people_20250513.csv'), 'utf8');
    expect(report.trim().split('\n')).toEqual(['id,name', '1,ann', '2,bob', '4,dee']);
  });

  it('runs a failing DAG: prints the error, exit 1 with one RUN_FAILED line', async () => {
    const r = await trib(['dags', 'test', 'failing', '--date', '2025-05-13', '--params', JSON.stringify({ dataDir })], env, 90_000);
    expect(r.code).toBe(1);
    // Before it, the task's own error log line (LOG_LEVEL warn): the failure line is the last.
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^trib: RUN_FAILED: run \d+ of failing for 2025-05-13: failed \(load failed, after upstream_failed\)$/);
    expect(r.stdout.split('\n').find((l) => l.startsWith('load '))).toMatch(/^load\s+failed\s+.*FILE_NOT_FOUND/);
    expect(r.stdout.split('\n').find((l) => l.startsWith('after '))).toMatch(/^after\s+upstream_failed\b/);
  });

  it('runs a DAG paused in the engine schema: the test has its own registry', async () => {
    expect((await trib(['pause', 'good'], env)).code).toBe(0);
    const r = await trib(['dags', 'test', 'good', '--date', '2025-05-22', '--params', JSON.stringify({ dataDir })], env, 90_000);
    expect((await trib(['unpause', 'good'], env)).code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^run \d+ of good for 2025-05-22.*: success$/);
  });
});

describe('params validated at trigger (exit 2, one line naming the param)', () => {
  it.each([
    ['an unknown key', { dataDri: '/x' }, 'dag "good": unknown param "dataDri" (declared: dataDir)'],
    ['a wrong type', { dataDir: 5 }, 'dag "good": param "dataDir": Invalid input: expected string, received number'],
  ])('trib trigger refuses %s', async (_, given, line) => {
    const r = await trib(['trigger', 'good', '--date', '2025-05-20', '--params', JSON.stringify(given)], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`trib: ARGUMENT_INVALID: ${line}\n`);
    const { rows } = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM dag_runs WHERE logical_date::date = '2025-05-20'`);
    expect(rows[0].n).toBe(0);
  });

  it('trib dags test refuses them too, before creating a run', async () => {
    const r = await trib(['dags', 'test', 'good', '--date', '2025-05-21', '--params', '{"dataDir": true}'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('trib: ARGUMENT_INVALID: dag "good": param "dataDir": Invalid input: expected string, received boolean\n');
  });
});

describe('trib dags validate', () => {
  it('accepts the good folder: exit 0', async () => {
    const r = await trib(['dags', 'validate'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ok: 2 DAG(s) in 2 file(s): failing, good\n');
  });

  it('prints one line per problem with file and task, exit 2', async () => {
    const dir = await folder('broken', { ...BROKEN, 'good.ts': GOOD, 'again.ts': GOOD });
    const r = await trib(['dags', 'validate'], { ...env, DAGS_DIR: dir });
    expect(r.code).toBe(2);
    const f = (name: string) => path.join(dir, name);
    expect(r.stdout.trim().split('\n')).toEqual([
      `${f('cycle.ts')}: dag "cycle": cycle a → b → a`,
      `${f('good.ts')}: dag "good": also defined in ${f('again.ts')}`,
      `${f('options.ts')}: dag "options": task "a" (kind "load"): invalid options.mode: Invalid option: expected one of "append"|"upsert"|"replace"|"replace-partition"`,
      `${f('template.ts')}: dag "template": task "r": {params.dataDri} is not a declared param (declared: dataDir)`,
      `${f('upstream.ts')}: dag "upstream": task "a": unknown upstream "nope"`,
    ]);
    expect(r.stderr).toBe(`trib: DAG_INVALID: 5 problem(s) in 6 DAG file(s)\n`);
  });

  it('prints every problem of one file, not only its first', async () => {
    const many = `export default { id: 'many', schedule: { cron: 'not a cron' }, tasks: {
  a: { kind: 'noop', upstream: ['nope'] },
  b: { kind: 'nokind' },
  c: { kind: 'load', options: { source: { file: 'x.csv' }, target: 'x', columns: [{ name: 'id', type: 'integer' }], mode: 'merge' } },
} };\n`;
    const dir = await folder('many', { 'many.ts': many });
    const r = await trib(['dags', 'validate'], { ...env, DAGS_DIR: dir });
    expect(r.code).toBe(2);
    const at = `${path.join(dir, 'many.ts')}: dag "many": `;
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(`${at}task "a": unknown upstream "nope"`);
    expect(lines[1]).toMatch(new RegExp(`^${at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}task "b": unknown job kind "nokind" \\(known: `));
    expect(lines[2]).toMatch(/task "c" \(kind "load"\): invalid options\.mode: /);
    expect(lines[3]).toMatch(/: dag "many": schedule: /);
    expect(r.stderr).toBe('trib: DAG_INVALID: 4 problem(s) in 1 DAG file(s)\n');
  });

  it("knows the project's custom kinds (kinds/ beside the DAG folder)", async () => {
    const api = path.join(REPO, 'index.ts');
    const kind = `import { defineJobKind, z } from '${api}';
export const upper = defineJobKind({ name: 'upper', options: z.object({ text: z.string() }).strict(), handler: async (_ctx, o) => o.text.toUpperCase() });
`;
    const dag = `export default { id: 'uses_upper', tasks: { a: { kind: 'upper', options: { text: 'x' } } } };\n`;
    const project = await folder('project', {});
    const dags = await folder('project/dags', { 'uses.ts': dag });
    await folder('project/kinds', { 'upper.ts': kind });
    const r = await trib(['dags', 'validate'], { ...env, DAGS_DIR: dags });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok: 1 DAG(s) in 1 file(s): uses_upper\n');
    await fs.rm(path.join(project, 'kinds'), { recursive: true });
    const without = await trib(['dags', 'validate'], { ...env, DAGS_DIR: dags });
    expect(without.code).toBe(2);
    expect(without.stdout).toMatch(/uses\.ts: dag "uses_upper": task "a": unknown job kind "upper"/);
  });

  it('checks one file when given', async () => {
    const file = path.join(base, 'broken', 'template.ts');
    const r = await trib(['dags', 'validate', file], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(`${file}: dag "template": task "r": {params.dataDri} is not a declared param (declared: dataDir)\n`);
  });
});
