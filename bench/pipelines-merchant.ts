/**
 * The merchant half of bench:pipelines: the shipped DAG (schedules/merchant_activity.ts) through the
 * real engine on Redis — sensor, load, five reports — on day two of a generated pair of
 * 1,000,000-event days (day one is loaded first, untimed, so the target holds a day and the file
 * repeats some of its events). Baseline in the same process: raw COPY of the rows the load kept
 * into an equivalent table holding the same day one. Best of two rounds each; progress on stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pino } from 'pino';
import { connect } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { compileDag } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { clearTasks, triggerRun } from '../engine/operations.ts';
import type { DagSpec } from '../engine/types.ts';
import { builtinKinds } from '../jobs/index.ts';
import { generateMerchantActivity } from '../samples/w3-merchant-activity.ts';
import merchantActivity from '../schedules/merchant_activity.ts';
import { findings, truthDifferences } from '../test/e2e/merchant-activity-truth.ts';
import { freshDatabase, startServices } from '../test/support/services.ts';

export const DAYS = ['2025-05-13', '2025-05-14'];
export const EVENTS_PER_DAY = 1_000_000;
const DIR = path.resolve('.tributary/bench/merchant_activity');
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
export const ROUNDS = 2;

export const log = (msg: string) => process.stderr.write(`[bench:pipelines] ${msg}\n`);
export const round3 = (n: number) => Math.round(n * 1000) / 1000;

export interface MerchantBench {
  merchant_day_seconds: number;
  merchant_rows: number;
  merchant_ratio_vs_copy: number;
  merchant_truth_match: boolean;
  tasks: Record<string, number>;
}

/**
 * A shipped DAG with its sensor's size-stability wait (2 s in the shipped DAGs) off: a bench writes
 * its files completely before it triggers a run, so the wait would only add its own length.
 */
export function withoutStableWait(dag: DagSpec, sensor: string): DagSpec {
  const task = dag.tasks[sensor];
  return { ...dag, tasks: { ...dag.tasks, [sensor]: { ...task, options: { ...(task.options as object), stableForMs: 0 } } } };
}

export function benchDag(): DagSpec {
  return withoutStableWait(merchantActivity, 'files');
}

export async function waitForEnd(engine: Engine, runId: number): Promise<string> {
  for (;;) {
    const { rows } = await engine.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId]);
    if (rows[0].state === 'success' || rows[0].state === 'failed') return rows[0].state;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function runDay(engine: Engine, dagId: string, day: string, params: Record<string, string>): Promise<{ runId: number; seconds: number }> {
  const started = performance.now();
  const { runId } = await triggerRun(engine.pool, engine.dispatcher, engine.dag(dagId), { date: day, params });
  if ((await waitForEnd(engine, runId)) !== 'success') throw new Error(`merchant_activity run of ${day} failed`);
  return { runId, seconds: (performance.now() - started) / 1000 };
}

/** Seconds per task of a run, from its last try's start (its first claim) to its end (the end's statement, by the clock). */
export async function triedSeconds(pool: pg.Pool, runId: number): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ task_id: string; seconds: number }>(
    `SELECT ti.task_id, extract(epoch FROM max(t.ended_at) - min(t.started_at))::float8 AS seconds
     FROM task_instances ti JOIN task_tries t ON t.task_instance_id = ti.id AND t.try_number = ti.try_number
     WHERE ti.run_id = $1
     GROUP BY ti.task_id ORDER BY min(t.started_at)`,
    [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.task_id, round3(r.seconds)]));
}

/**
 * Raw COPY of the rows day two loaded (its events are the ones dated that day, exported from
 * merchant_events) into a table defined like merchant_events holding day one's rows: seconds, rows.
 */
export async function copyBaseline(url: string, dir: string): Promise<{ seconds: number; rows: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const file = path.join(dir, 'baseline_day2.csv');
  try {
    await client.query('DROP TABLE IF EXISTS baseline_rows, baseline_events');
    await client.query('CREATE TABLE public.baseline_rows (LIKE merchant_events)');
    await client.query('CREATE TABLE public.baseline_events (LIKE merchant_events INCLUDING ALL)');
    const day = `event_timestamp >= CAST($1 AS date) AND event_timestamp < CAST($1 AS date) + 1`;
    await client.query(`INSERT INTO baseline_rows SELECT * FROM merchant_events WHERE ${day}`, [DAYS[1]]);
    await client.query(`INSERT INTO baseline_events SELECT * FROM merchant_events WHERE ${day}`, [DAYS[0]]);
    await pipeline(client.query(copyTo('COPY baseline_rows TO STDOUT WITH (FORMAT csv)')), fs.createWriteStream(file));
    await client.query('CHECKPOINT');
    const started = performance.now();
    await client.query('BEGIN');
    const copy = client.query(copyFrom('COPY baseline_events FROM STDIN WITH (FORMAT csv)'));
    await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), copy);
    await client.query('COMMIT');
    return { seconds: (performance.now() - started) / 1000, rows: copy.rowCount };
  } finally {
    await client.end();
    fs.rmSync(file, { force: true });
  }
}

/**
 * Takes day two back out (its events — the ones dated that day —, its ledger entry, its audit
 * rows) and vacuums, so its load can run again on the table as day one left it.
 */
export async function undoDayTwo(pool: pg.Pool, runId: number, file: string): Promise<void> {
  await pool.query('DELETE FROM merchant_events WHERE event_timestamp >= CAST($1 AS date) AND event_timestamp < CAST($1 AS date) + 1', [DAYS[1]]);
  await pool.query('DELETE FROM load_ledger WHERE path = $1', [file]);
  for (const audit of ['audit.merchant_events_rejects', 'audit.merchant_events_coercions']) {
    await pool.query(`DELETE FROM ${audit} WHERE run_id = $1`, [String(runId)]);
  }
  await pool.query('VACUUM ANALYZE merchant_events');
  await pool.query('CHECKPOINT');
}

export async function benchMerchantDay(): Promise<MerchantBench> {
  const services = await startServices({ redis: true });
  const params = { dataDir: path.join(DIR, 'data'), reportDir: path.join(DIR, 'reports') };
  // The two generated days are 260 MB: removed at the end; the reports stay for a look.
  const stops: Array<() => Promise<void>> = [services.stop, async () => fs.rmSync(params.dataDir, { recursive: true, force: true })];
  try {
    fs.rmSync(DIR, { recursive: true, force: true });
    log(`generating ${DAYS.length} days of ${EVENTS_PER_DAY} merchant events in ${params.dataDir}`);
    const truth = await generateMerchantActivity({ dir: params.dataDir, seed: 1, size: EVENTS_PER_DAY, days: DAYS.length, startDate: DAYS[0] });
    const databaseUrl = await freshDatabase(services.databaseUrl, 'bench_pipelines_merchant');
    const database = connect(databaseUrl, { max: 2 });
    stops.unshift(() => database.close());
    await runMigrations(database);

    const kinds = builtinKinds();
    const dag = compileDag(benchDag(), 'schedules/merchant_activity.ts', kinds);
    const engine = new Engine({
      databaseUrl, queueBackend: 'redis', redisUrl: services.redisUrl, queuePrefix: 'bench_merchant',
      dags: new Map([[dag.id, dag]]), kinds, log: pino({ level: 'silent' }), poolSize: 20, dataRoots: [DIR],
    });
    stops.unshift(() => engine.close());
    await engine.register();
    engine.startWorkers({ concurrency: () => CONCURRENCY });

    const dayOne = await runDay(engine, dag.id, DAYS[0], params);
    log(`day one (${DAYS[0]}, untimed warm-up): ${round3(dayOne.seconds)} s ${JSON.stringify(await triedSeconds(engine.pool, dayOne.runId))}`);
    await engine.pool.query('CHECKPOINT');

    // Two rounds of day two and of its COPY baseline; the faster of each counts (as in bench:load).
    const rounds: Array<{ seconds: number; tasks: Record<string, number> }> = [];
    const copies: Array<{ seconds: number; rows: number }> = [];
    const dayTwo = await runDay(engine, dag.id, DAYS[1], params);
    for (let round = 1; round <= ROUNDS; round++) {
      if (round > 1) {
        await undoDayTwo(engine.pool, dayTwo.runId, path.join(params.dataDir, truth.files[1].file));
        const started = performance.now();
        await clearTasks(engine.pool, engine.dispatcher, engine.dag(dag.id), dayTwo.runId, 'load', true);
        if ((await waitForEnd(engine, dayTwo.runId)) !== 'success') throw new Error(`merchant_activity re-run of ${DAYS[1]} failed`);
        dayTwo.seconds = (performance.now() - started) / 1000;
      }
      rounds.push({ seconds: dayTwo.seconds, tasks: await triedSeconds(engine.pool, dayTwo.runId) });
      copies.push(await copyBaseline(databaseUrl, DIR));
      log(`day two (${DAYS[1]}) round ${round}: ${round3(dayTwo.seconds)} s ${JSON.stringify(rounds.at(-1)?.tasks)}; raw COPY ${round3(copies.at(-1)!.seconds)} s`);
    }

    const differences = truthDifferences(await findings(database.pool, dayTwo.runId), truth);
    if (differences.length > 0) log(`truth differences: ${differences.join('; ')}`);
    const best = rounds.reduce((a, b) => (b.tasks.load < a.tasks.load ? b : a));
    const copy = copies.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const loaded = truth.files[1].loaded;
    log(`raw COPY of the ${copy.rows} rows day two loaded: ${round3(copy.seconds)} s; the load task: ${best.tasks.load} s for ${truth.files[1].rows} rows read, ${loaded} loaded`);
    return {
      merchant_day_seconds: round3(best.seconds),
      merchant_rows: truth.files[1].rows,
      // Same rows on both sides (those loaded), so this is COPY's seconds over the load task's.
      merchant_ratio_vs_copy: round3((loaded / best.tasks.load) / (copy.rows / copy.seconds)),
      merchant_truth_match: differences.length === 0 && copies.every((c) => c.rows === loaded),
      tasks: best.tasks,
    };
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  }
}
