/**
 * The credit platform half of bench:pipelines: the shipped DAG (schedules/credit_platform.ts) at
 * real size (samples scale 1, ~219,000 rows) through the real engine on Redis — sensor (its 2 s
 * size-stability wait off: the files are complete before the trigger), ten
 * upsert loads, every check, the reconciliations and the three reports — one run, timed from the
 * trigger to the run's end, with each task's duration (task_tries) and whether every count
 * equals the generator's truth. Progress goes to stderr.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { connect } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { compileDag } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { triggerRun } from '../engine/operations.ts';
import { builtinKinds } from '../jobs/index.ts';
import { generateCreditPlatform } from '../samples/w2-credit-platform.ts';
import creditPlatform from '../schedules/credit_platform.ts';
import { expectedRowCounts, runFindings, tableRowCounts, truthDifferences } from '../test/integration/db/credit-platform.ts';
import { uniquePrefix } from '../test/support/db.ts';
import { freshDatabase, startServices } from '../test/support/services.ts';
import { withoutStableWait } from './pipelines-merchant.ts';

const DAY = '2025-05-13';
const DIR = path.resolve('.tributary/bench/credit_platform');
/** Tasks of one kind running at once (two cores: loads of sibling tables overlap parsing and COPY). */
const CONCURRENCY = 4;

const log = (msg: string) => process.stderr.write(`[bench:pipelines] ${msg}\n`);

export interface CreditBench {
  credit_platform_seconds: number;
  credit_platform_rows: number;
  credit_truth_match: boolean;
  tasks: Record<string, number>;
}

async function waitForEnd(engine: Engine, runId: number): Promise<string> {
  for (;;) {
    const { rows } = await engine.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId]);
    if (rows[0].state === 'success' || rows[0].state === 'failed') return rows[0].state;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Seconds per task (its last try), in the order the tasks started, from the try's start (its first
 * claim) to its end (the end's statement, by the clock); the timeline (seconds after the trigger)
 * goes to stderr.
 */
async function taskSeconds(engine: Engine, runId: number): Promise<Record<string, number>> {
  const { rows } = await engine.pool.query<{ task_id: string; start: number; end: number }>(
    `SELECT ti.task_id, extract(epoch FROM min(t.started_at) - r.created_at)::float8 AS start, extract(epoch FROM max(t.ended_at) - r.created_at)::float8 AS end
     FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
     JOIN task_tries t ON t.task_instance_id = ti.id AND t.try_number = ti.try_number
     WHERE ti.run_id = $1 GROUP BY ti.task_id, r.created_at ORDER BY 2`,
    [runId],
  );
  log(`timeline (s after the trigger): ${rows.map((r) => `${r.task_id} ${r.start.toFixed(2)}→${r.end.toFixed(2)}`).join(', ')}`);
  return Object.fromEntries(rows.map((r) => [r.task_id, Number((r.end - r.start).toFixed(3))]));
}

export async function benchCreditPlatform(): Promise<CreditBench> {
  const services = await startServices({ redis: true });
  const stops: Array<() => Promise<void>> = [services.stop];
  try {
    await fs.rm(DIR, { recursive: true, force: true });
    log(`generating the credit platform at scale 1 in ${DIR}`);
    const truth = await generateCreditPlatform({ dir: path.join(DIR, 'data'), seed: 1, size: 1, startDate: DAY });
    const databaseUrl = await freshDatabase(services.databaseUrl, 'bench_pipelines_credit');
    const database = connect(databaseUrl, { max: 2 });
    stops.unshift(() => database.close());
    await runMigrations(database);

    const kinds = builtinKinds();
    const dag = compileDag(withoutStableWait(creditPlatform, 'extracts'), 'schedules/credit_platform.ts', kinds);
    const engine = new Engine({
      // Job ids repeat in every fresh database (r1-…): a shared Redis would still hold a finished run's jobs.
      databaseUrl, queueBackend: 'redis', redisUrl: services.redisUrl, queuePrefix: uniquePrefix('bench_credit'),
      dags: new Map([[dag.id, dag]]), kinds, log: pino({ level: 'silent' }), poolSize: 20, dataRoots: [DIR],
    });
    stops.unshift(() => engine.close());
    await engine.register();
    engine.startWorkers({ concurrency: () => CONCURRENCY });

    log(`running credit_platform for ${DAY} (${truth.extracts[0].rows} rows)`);
    const started = performance.now();
    const params = { dataDir: path.join(DIR, 'data'), reportDir: path.join(DIR, 'reports') };
    const { runId } = await triggerRun(engine.pool, engine.dispatcher, dag, { date: DAY, params });
    const state = await waitForEnd(engine, runId);
    const seconds = (performance.now() - started) / 1000;
    log(`run ${state} in ${seconds.toFixed(3)} s`);

    const extract = truth.extracts[0];
    const differences = truthDifferences(await runFindings(database.pool, runId), extract);
    const counts = await tableRowCounts(database.pool);
    const expected = expectedRowCounts(extract);
    for (const [table, n] of Object.entries(expected)) {
      if (counts[table as keyof typeof counts] !== n) differences.push(`${table} rows: ${counts[table as keyof typeof counts]}, truth ${n}`);
    }
    if (differences.length > 0) log(`truth differences: ${differences.join('; ')}`);
    return {
      credit_platform_seconds: Number(seconds.toFixed(3)),
      credit_platform_rows: extract.rows,
      credit_truth_match: state === 'success' && differences.length === 0,
      tasks: await taskSeconds(engine, runId),
    };
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  }
}
