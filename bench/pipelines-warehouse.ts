/**
 * The warehouse row of bench:pipelines: the same merchant-activity days as bench/pipelines-merchant.ts
 * (same generator seed and size), with the load and the reports on a warehouse connection
 * (TRIB_CONN_WAREHOUSE) to a second Postgres server, so every day commits there exactly once
 * through the transactional inbox (docs/warehouse.md). Baseline in the same process: raw COPY of
 * the rows day two loaded into an equivalent table on that warehouse holding day one. Best of two
 * rounds each; progress on stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { connect } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { compileDag } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { clearTasks } from '../engine/operations.ts';
import type { DagSpec } from '../engine/types.ts';
import { builtinKinds } from '../jobs/index.ts';
import { generateMerchantActivity } from '../samples/w3-merchant-activity.ts';
import { findings, truthDifferences } from '../test/e2e/merchant-activity-truth.ts';
import { freshDatabase, startPostgres, startServices } from '../test/support/services.ts';
import {
  benchDag, CONCURRENCY, copyBaseline, DAYS, EVENTS_PER_DAY, log, round3, ROUNDS, runDay, triedSeconds, undoDayTwo, waitForEnd,
} from './pipelines-merchant.ts';

const DIR = path.resolve('.tributary/bench/merchant_warehouse');

export interface WarehouseBench {
  warehouse_day_seconds: number;
  warehouse_rows: number;
  warehouse_ratio_vs_copy: number;
  warehouse_truth_match: boolean;
  tasks: Record<string, number>;
}

/** The bench's merchant DAG with everything but the sensor on the warehouse connection. */
function warehouseDag(): DagSpec {
  const dag = benchDag();
  const tasks: DagSpec['tasks'] = {};
  for (const [id, task] of Object.entries(dag.tasks)) {
    tasks[id] = task.kind === 'sensor' ? task : { ...task, options: { ...(task.options as object), connection: 'warehouse' } };
  }
  return { ...dag, id: 'merchant_warehouse', tasks };
}

export async function benchWarehouseDay(): Promise<WarehouseBench> {
  const services = await startServices({ redis: true });
  const stops: Array<() => Promise<void>> = [services.stop];
  const params = { dataDir: path.join(DIR, 'data'), reportDir: path.join(DIR, 'reports') };
  stops.unshift(async () => fs.rmSync(params.dataDir, { recursive: true, force: true }));
  try {
    const server = await startPostgres();
    stops.unshift(server.stop);
    const warehouseUrl = await freshDatabase(server.url, 'bench_warehouse');
    // The ledger, audit and events of findings() are the warehouse's; the stored reports are the engine's.
    const warehouse = new pg.Pool({ connectionString: warehouseUrl, max: 2, options: '-c search_path=tributary,public' });
    // An idle client ended by the server's stop at the end must not crash the bench before its JSON line.
    warehouse.on('error', () => undefined);
    stops.unshift(() => warehouse.end());

    fs.rmSync(DIR, { recursive: true, force: true });
    log(`warehouse: generating ${DAYS.length} days of ${EVENTS_PER_DAY} merchant events in ${params.dataDir}`);
    const truth = await generateMerchantActivity({ dir: params.dataDir, seed: 1, size: EVENTS_PER_DAY, days: DAYS.length, startDate: DAYS[0] });
    const databaseUrl = await freshDatabase(services.databaseUrl, 'bench_pipelines_warehouse');
    const database = connect(databaseUrl, { max: 2 });
    stops.unshift(() => database.close());
    await runMigrations(database);

    process.env.TRIB_CONN_WAREHOUSE = warehouseUrl; // read by this process's workers at their first warehouse load
    stops.push(async () => void delete process.env.TRIB_CONN_WAREHOUSE);
    const kinds = builtinKinds();
    const dag = compileDag(warehouseDag(), 'bench/pipelines-warehouse.ts', kinds);
    const engine = new Engine({
      databaseUrl, queueBackend: 'redis', redisUrl: services.redisUrl, queuePrefix: 'bench_warehouse',
      dags: new Map([[dag.id, dag]]), kinds, log: pino({ level: 'silent' }), poolSize: 20, dataRoots: [DIR],
    });
    stops.unshift(() => engine.close());
    await engine.register();
    engine.startWorkers({ concurrency: () => CONCURRENCY });

    const dayOne = await runDay(engine, dag.id, DAYS[0], params);
    log(`warehouse day one (${DAYS[0]}, untimed warm-up): ${round3(dayOne.seconds)} s ${JSON.stringify(await triedSeconds(engine.pool, dayOne.runId))}`);
    await warehouse.query('CHECKPOINT');

    const rounds: Array<{ seconds: number; tasks: Record<string, number> }> = [];
    const copies: Array<{ seconds: number; rows: number }> = [];
    const dayTwo = await runDay(engine, dag.id, DAYS[1], params);
    for (let round = 1; round <= ROUNDS; round++) {
      if (round > 1) {
        await undoDayTwo(warehouse, dayTwo.runId, path.join(params.dataDir, truth.files[1].file));
        const started = performance.now();
        await clearTasks(engine.pool, engine.dispatcher, engine.dag(dag.id), dayTwo.runId, 'load', true);
        if ((await waitForEnd(engine, dayTwo.runId)) !== 'success') throw new Error(`merchant_warehouse re-run of ${DAYS[1]} failed`);
        dayTwo.seconds = (performance.now() - started) / 1000;
      }
      rounds.push({ seconds: dayTwo.seconds, tasks: await triedSeconds(engine.pool, dayTwo.runId) });
      copies.push(await copyBaseline(warehouseUrl, DIR));
      log(`warehouse day two (${DAYS[1]}) round ${round}: ${round3(dayTwo.seconds)} s ${JSON.stringify(rounds.at(-1)?.tasks)}; raw COPY ${round3(copies.at(-1)!.seconds)} s`);
    }

    const routed = { query: (sql: string, values?: unknown[]) => (/\bFROM reports\b/.test(sql) ? database.pool : warehouse).query(sql, values) };
    const differences = truthDifferences(await findings(routed as pg.Pool, dayTwo.runId), truth);
    if (differences.length > 0) log(`warehouse truth differences: ${differences.join('; ')}`);
    const best = rounds.reduce((a, b) => (b.tasks.load < a.tasks.load ? b : a));
    const copy = copies.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const loaded = truth.files[1].loaded;
    log(`warehouse: raw COPY of the ${copy.rows} rows day two loaded: ${round3(copy.seconds)} s; the load task: ${best.tasks.load} s`);
    return {
      warehouse_day_seconds: round3(best.seconds),
      warehouse_rows: truth.files[1].rows,
      warehouse_ratio_vs_copy: round3((loaded / best.tasks.load) / (copy.rows / copy.seconds)),
      warehouse_truth_match: differences.length === 0 && copies.every((c) => c.rows === loaded),
      tasks: best.tasks,
    };
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  }
}
