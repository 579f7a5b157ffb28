/**
 * What `trib demo` does (cli/commands/demo.ts registers it): on the stack `trib standalone` uses,
 * generates each selected DAG's demo data, runs its days one after another in the demo's own
 * database (workers/demo.ts) and prints what every run did; TASK_FAILED when any run did not succeed.
 */
import { loadConfig, redactUrl } from '../engine/config.ts';
import type { Engine } from '../engine/engine.ts';
import { TributaryError } from '../engine/errors.ts';
import { DEMO_PIPELINES, type DemoPipeline } from '../samples/demo/index.ts';
import { demoDays, demoDir, demoPipeline, describeRun, openDemoEngine, startDemoRun, waitForRun } from '../workers/demo.ts';
import { startLocalStack } from '../workers/standalone.ts';
import { startWorkerRole } from '../workers/worker.ts';
import { commandLogger, createEngine, loadDagsFrom } from './runtime.ts';

/** A demo run still going after this long counts as failed (the demo data should never make a sensor wait). */
const RUN_LIMIT_MS = 10 * 60_000;
/** How often queued runs waiting for a free slot are started, and lost jobs re-added. */
const SWEEP_MS = 1000;

interface Outcome {
  dagId: string;
  runId: number;
  state: string;
}

/** One DAG's demo: its data, then one run per day, each waited for before the next starts. */
async function runDemo(engine: Engine, home: string, pipeline: DemoPipeline, days: number): Promise<Outcome[]> {
  const dag = engine.dag(pipeline.dagId);
  const dates = demoDays(dag, days);
  const dir = demoDir(home, dag.id);
  console.log(`${dag.id}: generating ${days} day(s) of demo data (${dates[0]} … ${dates.at(-1)}) in ${dir}`);
  const data = await pipeline.prepare({ dir, startDate: dates[0], days, seed: 1 });
  const outcomes: Outcome[] = [];
  try {
    for (const day of dates) {
      const runId = await startDemoRun(engine, dag, day, data.params);
      const state = await waitForRun(engine.pool, runId, AbortSignal.timeout(RUN_LIMIT_MS)).catch((err: unknown) => {
        if ((err as Error).name !== 'AbortError') throw err;
        return 'still running';
      });
      console.log((await describeRun(engine, runId)).join('\n'));
      outcomes.push({ dagId: dag.id, runId, state });
    }
  } finally {
    await data.close?.();
  }
  return outcomes;
}

/** Runs the demo of `dagId` (default: every shipped DAG's) for `days` days. */
export async function runDemos(dagId: string | undefined, days: number): Promise<void> {
  const pipelines = dagId === undefined ? DEMO_PIPELINES : [demoPipeline(dagId)];
  const config = loadConfig();
  const log = commandLogger(config, false, 'fatal'); // task errors are in each run's summary (and its stored logs)
  const dags = await loadDagsFrom(config);
  for (const p of pipelines) {
    if (!dags.has(p.dagId)) throw new TributaryError('DAG_NOT_FOUND', `demo "${p.dagId}" needs its DAG, which ${config.DAGS_DIR} does not define`);
  }
  const stack = await startLocalStack({ config, log, engine: async (url) => createEngine(config, url, dags, log) });
  let outcomes: Outcome[];
  try {
    const demo = await openDemoEngine(stack.engine);
    stack.onStop(() => demo.close());
    console.log(`demo database: ${redactUrl(demo.options.databaseUrl)} (demo runs and rows live there, not in your tables)`);
    startWorkerRole({ engine: demo, config, log });
    demo.startSweeper(SWEEP_MS);
    outcomes = (await Promise.all(pipelines.map((p) => runDemo(demo, config.TRIBUTARY_HOME, p, days)))).flat();
  } finally {
    await stack.stop();
  }
  const failed = outcomes.filter((o) => o.state !== 'success');
  if (failed.length > 0) {
    const which = failed.map((o) => `run ${o.runId} of ${o.dagId} ${o.state}`).join(', ');
    throw new TributaryError('TASK_FAILED', `${failed.length} of ${outcomes.length} demo run(s) did not succeed: ${which}`);
  }
  console.log(`all ${outcomes.length} demo run(s) succeeded`);
}
