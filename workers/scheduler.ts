/**
 * `trib scheduler`: registers the DAGs, creates runs on their cron ticks (with catch-up), and runs
 * the sweeper that repairs the commit→enqueue gap, until SIGINT/SIGTERM. Edited DAG files are
 * reloaded (engine/dag-reload.ts).
 */
import type { Logger } from 'pino';
import type { Config } from '../engine/config.ts';
import { watchDags } from '../engine/dag-reload.ts';
import type { Engine } from '../engine/engine.ts';
import { waitForShutdown } from './shutdown.ts';

export async function startSchedulerRole(engine: Engine, config: Config): Promise<void> {
  await engine.register();
  await engine.startScheduler();
  engine.startSweeper(config.SWEEP_INTERVAL_MS);
}

export async function runScheduler({ engine, config, log }: { engine: Engine; config: Config; log: Logger }): Promise<void> {
  await startSchedulerRole(engine, config);
  const reloader = watchDags({ engines: [engine], dir: config.DAGS_DIR, log });
  log.info({ dags: [...engine.dags.keys()] }, 'scheduler running');
  await waitForShutdown(log);
  reloader.close();
  await engine.close();
  log.info('scheduler stopped');
}
