/**
 * A multi-host rehearsal (issue 21): a `trib scheduler` and two `trib worker`s as separate process
 * trees, each in a working directory of its own (no shared `.tributary`) with its own copy of the DAG
 * file, sharing only the engine's database (DATABASE_URL), Redis (REDIS_URL, QUEUE_PREFIX), the data
 * folder the day's files land in (DATA_ROOTS, a shared mount in production) and one connection,
 * TRIB_CONN_WAREHOUSE, a second Postgres server started here. The DAG is W3 merchant_activity with
 * its load and reports on the warehouse; the scheduler creates its days by catch-up. While the days
 * load, each at the moment a load is inside its COPY on the warehouse: the worker running it is
 * killed with SIGKILL and restarted, then the other worker, then the scheduler, and the warehouse
 * server is stopped and started again on its data folder and port. Then every run is a success, the
 * warehouse holds the generator's truth (every file's rows, refused rows, deduplicated rows and
 * coercions; the events table), one ledger row per file, one inbox row per load try (the committed
 * one), and the engine's database none of it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../db/embedded.ts';
import { generateMerchantActivity, type W3Truth } from '../../samples/w3-merchant-activity.ts';
import { findings, truthDifferences } from '../e2e/merchant-activity-truth.ts';
import { tempFolder } from '../integration/connections/warehouse-setup.ts';
import { cliEnv, REPO, spawnTrib } from '../support/cli.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../support/db.ts';
import { dagFolder } from '../support/dag-folder.ts';
import { alive, waitFor } from './harness.ts';

const DAG_ID = 'merchant_warehouse';
const DAYS = 4;
const EVENTS_PER_DAY = 120_000;

type Trib = ReturnType<typeof spawnTrib>;

let base: string;
let engineDb: TestDatabase;
let warehouse: EmbeddedServer;
let warehousePool: pg.Pool;
let truth: W3Truth;
let days: string[];
const children: Trib[] = [];
type Host = 'scheduler' | 'a' | 'b';
/** Each host's working folder and environment. */
const homes = new Map<Host, { cwd: string; env: NodeJS.ProcessEnv }>();

/** Midnight UTC `n` days before today, as YYYY-MM-DD. */
const daysAgo = (n: number) => new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() - n)).toISOString().slice(0, 10);

/**
 * The DAG file every host gets: the shipped merchant_activity (imported from the installed
 * Tributary) with its load and reports on the warehouse connection, a midnight schedule starting
 * `days[0]` (so catch-up creates exactly these days until the next midnight) and its folders as params.
 */
function dagText(dataDir: string, reportDir: string): string {
  const shipped = pathToFileURL(path.join(REPO, 'schedules/merchant_activity.ts')).href;
  return `import shipped from '${shipped}';
const onWarehouse = (task) => ({ ...task, options: { ...task.options, connection: 'warehouse' } });
const tasks = Object.fromEntries(Object.entries(shipped.tasks).map(([id, task]) => [id, task.kind === 'sensor'
  ? { ...task, options: { ...task.options, stableForMs: 0, pokeIntervalMs: 1000 } }
  : onWarehouse(task)]));
export default {
  ...shipped, id: '${DAG_ID}', tasks, pausedAtCreation: false,
  schedule: { cron: '0 0 * * *', timezone: 'UTC' }, startDate: '${days[0]}',
  params: { dataDir: ${JSON.stringify(dataDir)}, reportDir: ${JSON.stringify(reportDir)}, filePattern: 'activities_{yyyymmdd}.csv' },
};
`;
}

async function startWarehouse(dataDir: string, port?: number): Promise<EmbeddedServer> {
  return startEmbeddedPostgres({ dataDir, port, persistent: true });
}

/** A host's `trib <role>` in its own folder; resolves once it says it is up. */
async function start(host: Host): Promise<Trib> {
  const role = host === 'scheduler' ? 'scheduler' : 'worker';
  const { cwd, env } = homes.get(host)!;
  const child = spawnTrib([role], env, cwd);
  children.push(child);
  const ready = role === 'scheduler' ? 'scheduler running' : 'worker started';
  await waitFor(() => (child.out() + child.err()).includes(ready), 30_000, `${host} to start`);
  return child;
}

async function kill9(child: Trib): Promise<void> {
  if (!alive(child.child)) return;
  child.child.kill('SIGKILL');
  await child.exited;
}

const engine = async <R extends object>(sql: string, values: unknown[] = []) => (await engineDb.pool.query<R>(sql, values)).rows;
const onWarehouse = async <R extends object>(sql: string, values: unknown[] = []) => (await warehousePool.query<R>(sql, values)).rows;

/** Whether a load is inside its COPY on the warehouse now. */
async function copying(): Promise<boolean> {
  const rows = await onWarehouse(`SELECT 1 FROM pg_stat_activity WHERE datname = 'warehouse' AND state = 'active' AND query ILIKE 'COPY%'`);
  return rows.length > 0;
}

/** The worker (`host:pid`) of the newest unfinished load attempt. */
async function loadRunner(): Promise<string | undefined> {
  const rows = await engine<{ worker: string }>(
    `SELECT ta.worker FROM task_attempts ta JOIN task_instances ti ON ti.id = ta.task_instance_id
     WHERE ti.task_id = 'load' AND ta.ended_at IS NULL ORDER BY ta.id DESC LIMIT 1`);
  return rows[0]?.worker;
}

/** Waits until a load is mid-COPY on the warehouse; returns the pid of the worker running it. */
async function midLoad(what: string): Promise<number> {
  let runner: string | undefined;
  await waitFor(async () => (await copying()) && (runner = await loadRunner()) !== undefined, 60_000, `a load mid-COPY (${what})`);
  return Number(runner!.split(':').at(-1));
}

beforeAll(async () => {
  base = await tempFolder('tributary-multi-host');
  days = Array.from({ length: DAYS }, (_, i) => daysAgo(DAYS - 1 - i)); // oldest first, today last
  const shared = path.join(base, 'shared');
  const dataDir = path.join(shared, 'data');
  const reportDir = path.join(shared, 'reports');
  truth = await generateMerchantActivity({ dir: dataDir, seed: 21, size: EVENTS_PER_DAY, days: DAYS, startDate: days[0] });
  engineDb = await createTestDatabase(); // `trib migrate`, once, before any host starts
  warehouse = await startWarehouse(path.join(base, 'warehouse'));
  const admin = new pg.Client({ connectionString: warehouse.url });
  await admin.connect();
  await admin.query('CREATE DATABASE warehouse');
  await admin.end();
  const warehouseUrl = new URL(warehouse.url);
  warehouseUrl.pathname = '/warehouse';
  warehousePool = new pg.Pool({ connectionString: warehouseUrl.href, max: 2, options: '-c search_path=tributary,public' });
  warehousePool.on('error', () => undefined); // its idle clients die with the restart
  const common = {
    DATABASE_URL: engineDb.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('multihost'), DATA_ROOTS: shared,
    TRIB_CONN_WAREHOUSE: warehouseUrl.href,
    // Faster than production so a killed worker's try is taken over within the test's time.
    JOB_LOCK_MS: '2000', SWEEP_INTERVAL_MS: '1000',
  };
  for (const host of ['scheduler', 'a', 'b'] as const) {
    const cwd = path.join(base, `host-${host}`);
    const dags = await dagFolder(cwd, 'dags', { [`${DAG_ID}.ts`]: dagText(dataDir, reportDir) });
    homes.set(host, { cwd, env: cliEnv({ ...common, DAGS_DIR: dags }) });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map(kill9));
  await warehousePool?.end();
  await warehouse?.stop();
  await engineDb?.drop();
  if (base) await fs.rm(base, { recursive: true, force: true });
});

describe('a scheduler and two workers on separate hosts, loading W3 into a warehouse on a second server', () => {
  it('survive kill -9 of each worker and of the scheduler and a warehouse restart mid-load: every run succeeds, loaded once', { timeout: 150_000 }, async () => {
    const started = Date.now();
    const timings: Record<string, number> = {};
    const mark = (step: string) => (timings[step] = Math.round((Date.now() - started) / 100) / 10);
    const workers = { a: await start('a'), b: await start('b') };
    let scheduler = await start('scheduler');
    mark('hosts up');

    // Each worker killed once, the one running a load first.
    const first = await midLoad('worker kill 1');
    const victim = workers.a.child.pid === first ? 'a' : 'b';
    const other = victim === 'a' ? 'b' : 'a';
    await kill9(workers[victim]);
    workers[victim] = await start(victim);
    mark(`worker ${victim} killed mid-load, restarted`);
    const second = await midLoad('worker kill 2');
    const otherWasLoading = workers[other].child.pid === second;
    await kill9(workers[other]);
    workers[other] = await start(other);
    mark(`worker ${other} killed${otherWasLoading ? ' mid-load' : ' during a load on the other'}, restarted`);

    await midLoad('scheduler kill');
    await kill9(scheduler);
    scheduler = await start('scheduler');
    mark('scheduler killed, restarted');

    await midLoad('warehouse restart');
    await warehouse.stop();
    warehouse = await startWarehouse(path.join(base, 'warehouse'), warehouse.port);
    mark('warehouse restarted');

    await waitFor(async () => {
      const runs = await engine<{ state: string }>('SELECT state FROM dag_runs WHERE dag_id = $1', [DAG_ID]);
      return runs.length === DAYS && runs.every((r) => r.state === 'success' || r.state === 'failed');
    }, 90_000, 'every day to end');
    mark('all runs ended');
    console.info(`[multi-host] ${JSON.stringify(timings)}`);

    const runs = await engine<{ id: number; day: string; state: string }>(
      `SELECT id, to_char(logical_date AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, state FROM dag_runs WHERE dag_id = $1 ORDER BY logical_date`, [DAG_ID]);
    expect(runs.map((r) => [r.day, r.state])).toEqual(days.map((d) => [d, 'success']));
    const notSuccess = await engine('SELECT task_id, map_index, state FROM task_instances WHERE state <> $1', ['success']);
    expect(notSuccess).toEqual([]);
    // What the chaos did to the tries: the kills lost attempts (a try lost twice fails WORKER_LOST and
    // takes one of the load's own retries), the warehouse restart is an outage the engine retried.
    const attempts = await engine<{ state: string; error_code: string | null; n: number }>(
      `SELECT state, error_code, count(*)::int AS n FROM task_attempts GROUP BY 1, 2 ORDER BY 1, 2`);
    console.info(`[multi-host] attempts by state: ${JSON.stringify(attempts)}`);
    const outcomes = attempts.map((a) => `${a.state}:${a.error_code ?? ''}`);
    expect(outcomes).toContain('infra_error:DATABASE_UNAVAILABLE');
    expect(outcomes).toContain('lost:WORKER_LOST');
    for (const o of outcomes) expect(['success:', 'lost:WORKER_LOST', 'infra_error:DATABASE_UNAVAILABLE', 'failed:WORKER_LOST']).toContain(o);

    // The warehouse holds the truth: per file (ledger, refused by kind, coerced), the events table, and the reports read from it.
    const lastRun = runs.at(-1)!.id;
    const routed = { query: (sql: string, values?: unknown[]) => (/\bFROM reports\b/.test(sql) ? engineDb.pool : warehousePool).query(sql, values) };
    expect(truthDifferences(await findings(routed as pg.Pool, lastRun), truth)).toEqual([]);
    const [events] = await onWarehouse<{ n: number }>('SELECT count(*)::int AS n FROM public.merchant_events');
    expect(events.n).toBe(truth.unique_valid_events);
    const ledger = await onWarehouse<{ path: string; n: number }>('SELECT path, count(*)::int AS n FROM tributary.load_ledger GROUP BY path ORDER BY path');
    expect(ledger.map((l) => [path.basename(l.path), l.n])).toEqual(truth.files.map((f) => [f.file, 1]));

    // One inbox row per load try, the committed one, with the result the engine recorded.
    const loads = await engine<{ id: number; try_number: number; result: unknown }>(
      `SELECT id, try_number, result FROM task_instances WHERE task_id = 'load' AND map_index >= 0 ORDER BY id`);
    expect(loads).toHaveLength(DAYS);
    const inbox = await onWarehouse<{ task_instance_id: number; try_number: number; result: unknown }>(
      'SELECT task_instance_id::int, try_number, result FROM tributary.load_inbox ORDER BY task_instance_id');
    expect(inbox).toEqual(loads.map((l) => ({ task_instance_id: l.id, try_number: l.try_number, result: l.result })));

    // Nothing of the load in the engine's database.
    expect(await engine(`SELECT to_regclass('public.merchant_events') AS t, to_regclass('audit.merchant_events_rejects') AS r,
      to_regclass('audit.merchant_events_coercions') AS c`)).toEqual([{ t: null, r: null, c: null }]);
    expect(await engine('SELECT count(*)::int AS n FROM load_ledger')).toEqual([{ n: 0 }]);
    expect(alive(scheduler.child) && alive(workers.a.child) && alive(workers.b.child)).toBe(true);
  });
});
