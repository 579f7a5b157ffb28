/**
 * What a `trib` command runs on: the validated config, the loaded DAGs and an Engine (its queue
 * backend connects lazily, so read-only commands never touch the queues). Closed after the command.
 * Without DATABASE_URL a command finds its database (cli/find-database.ts): a running standalone's,
 * or the embedded Postgres under TRIBUTARY_HOME started for the command alone.
 */
import type { Logger } from 'pino';
import { loadDags } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { loadConfig, type Config } from '../engine/config.ts';
import { loadProjectKinds } from '../engine/kinds.ts';
import { createLogger } from '../engine/logger.ts';
import type { CompiledDag, JobKind } from '../engine/types.ts';
import { builtinKinds } from '../jobs/index.ts';
import { findDatabase } from './find-database.ts';

/** The demo DAG `trib standalone` runs on generated data once it is up (W1). */
export const DEMO_DAG = 'customer_ratings';

export interface Runtime {
  config: Config;
  engine: Engine;
  log: Logger;
}

/**
 * One-shot commands log at `quiet` (warnings and errors by default) unless LOG_LEVEL is set; roles
 * log at LOG_LEVEL.
 */
export function commandLogger(config: Config, role: boolean, quiet = 'warn'): Logger {
  return createLogger(role || process.env.LOG_LEVEL ? config.LOG_LEVEL : quiet);
}

/** The job kinds (shipped + the project's kinds/ and DAG files) each loaded set of DAGs was compiled with. */
const kindsOfDags = new WeakMap<ReadonlyMap<string, CompiledDag>, Map<string, JobKind>>();

/** The kinds `dags` (from loadDagsFrom) use; the shipped kinds for any other map. */
export function kindsFor(dags: ReadonlyMap<string, CompiledDag>): Map<string, JobKind> {
  return kindsOfDags.get(dags) ?? builtinKinds();
}

export async function loadDagsFrom(config: Config): Promise<Map<string, CompiledDag>> {
  const kinds = await loadProjectKinds(config.DAGS_DIR, builtinKinds());
  const dags = await loadDags(config.DAGS_DIR, kinds);
  kindsOfDags.set(dags, kinds);
  return dags;
}

export function createEngine(config: Config, databaseUrl: string, dags: Map<string, CompiledDag>, log: Logger): Engine {
  const kinds = kindsFor(dags);
  return new Engine({
    databaseUrl,
    queueBackend: config.QUEUE_BACKEND,
    redisUrl: config.REDIS_URL,
    redisCluster: config.REDIS_CLUSTER,
    queuePrefix: config.QUEUE_PREFIX,
    schema: config.TRIBUTARY_SCHEMA,
    taskIdleTimeoutMs: config.TASK_IDLE_TIMEOUT_MS,
    dags,
    kinds,
    log,
    dataRoots: config.dataRoots,
    poolSize: config.DATABASE_POOL_MAX ?? poolForWorkers(config, kinds.keys()),
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    workerLostLimit: config.WORKER_LOST_LIMIT,
    handoverMax: config.HANDOVER_MAX,
    infraRetryMax: config.INFRA_RETRY_MAX,
    retentionDays: config.RETENTION_DAYS,
    dashboardUrl: config.PUBLIC_URL ?? `http://${config.DASHBOARD_HOST}:${config.DASHBOARD_PORT}`,
    pausedAtCreation: config.DAGS_PAUSED_AT_CREATION,
  });
}

/** One connection per worker slot of every queue, plus headroom for the sweeper, heartbeats and failures. */
function poolForWorkers(config: Config, queues: Iterable<string>): number {
  let slots = 0;
  for (const queue of queues) slots += config.concurrency(queue);
  return slots + 8;
}

export interface OpenRuntime extends Runtime {
  /** Stops what finding the database started (after engine.close()). */
  stop(): Promise<void>;
}

/**
 * The config, DAGs and engine of a command. A role (`role: true`: worker, scheduler, dashboard)
 * runs on DATABASE_URL or a running standalone's database, never on an embedded one of its own.
 */
export async function openRuntime(options: { role?: boolean } = {}): Promise<OpenRuntime> {
  const found = await findDatabase(loadConfig(), { embedded: !options.role });
  try {
    const { config } = found;
    const log = commandLogger(config, options.role ?? false);
    const dags = await loadDagsFrom(config);
    return { config, engine: createEngine(config, found.databaseUrl, dags, log), log, stop: found.stop };
  } catch (err) {
    await found.stop();
    throw err;
  }
}

/** Opens a runtime, runs `fn`, always closes the engine (and the embedded Postgres it started). */
export async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime();
  try {
    return await fn(rt);
  } finally {
    await rt.engine.close();
    await rt.stop();
  }
}
