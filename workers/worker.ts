/**
 * `trib worker [--queues load,report]`: consumes the given queues (default: every job kind's) with
 * the configured concurrency per queue until SIGINT/SIGTERM, then waits for running tries to finish
 * (engine.close()) before closing connections. Edited DAG files are reloaded (engine/dag-reload.ts).
 */
import type { Logger } from 'pino';
import type { Config } from '../engine/config.ts';
import { watchDags } from '../engine/dag-reload.ts';
import type { Engine } from '../engine/engine.ts';
import { waitForShutdown } from './shutdown.ts';

export interface WorkerRole {
  engine: Engine;
  config: Config;
  log: Logger;
  queues?: string[];
}

export function startWorkerRole({ engine, config, log, queues }: WorkerRole): string[] {
  const started = engine.startWorkers({ queues, concurrency: config.concurrency, lockDurationMs: config.JOB_LOCK_MS });
  log.info({ queues: started.map((q) => `${q}×${config.concurrency(q)}`), backend: config.QUEUE_BACKEND }, 'worker started');
  return started;
}

/** Runs the worker role until a signal, then stops gracefully. */
export async function runWorker(role: WorkerRole): Promise<void> {
  await role.engine.backend.verify(); // a Redis Cluster behind REDIS_URL without REDIS_CLUSTER=true (or the reverse)
  startWorkerRole(role);
  const reloader = watchDags({ engines: [role.engine], dir: role.config.DAGS_DIR, log: role.log });
  await waitForShutdown(role.log);
  reloader.close();
  await role.engine.close();
  role.log.info('worker stopped');
}
