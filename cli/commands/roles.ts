/** The long-running roles — `trib worker|scheduler|dashboard|standalone` — and `trib migrate`. */
import type { Command } from 'commander';
import { listArg } from '../args.ts';

export function addRoleCommands(program: Command): void {
  program
    .command('worker')
    .description('consume job queues until SIGTERM/SIGINT (running tasks finish first)')
    .option('--queues <list>', 'comma-separated queues, e.g. load,report (default: every job kind)', listArg)
    .action(async (opts: { queues?: string[] }) => {
      const [{ openRuntime }, { runWorker }] = await Promise.all([import('../runtime.ts'), import('../../workers/worker.ts')]);
      const rt = await openRuntime({ role: true });
      await runWorker({ ...rt, queues: opts.queues });
    });

  program
    .command('scheduler')
    .description('create runs on each DAG\'s cron (with catch-up) and sweep stuck tasks, until SIGTERM/SIGINT')
    .action(async () => {
      const [{ openRuntime }, { runScheduler }] = await Promise.all([import('../runtime.ts'), import('../../workers/scheduler.ts')]);
      await runScheduler(await openRuntime({ role: true }));
    });

  program
    .command('dashboard')
    .description('serve bull-board at /queues, the JSON API at /api and /metrics (needs DASHBOARD_TOKEN, or DASHBOARD_AUTH=users with `trib users add`)')
    .action(async () => {
      const [{ openRuntime }, { dashboardToken }, { startDashboard }, { waitForShutdown }] = await Promise.all([
        import('../runtime.ts'), import('../../dashboard/auth.ts'), import('../../dashboard/server.ts'), import('../../workers/shutdown.ts'),
      ]);
      const rt = await openRuntime({ role: true });
      const token = dashboardToken(rt.config);
      const dashboard = await startDashboard({
        engine: rt.engine, host: rt.config.DASHBOARD_HOST, port: rt.config.DASHBOARD_PORT, token, usersOnly: rt.config.DASHBOARD_AUTH === 'users', log: rt.log,
        backfillMaxRuns: rt.config.BACKFILL_MAX_RUNS, allowedHosts: rt.config.DASHBOARD_ALLOWED_HOSTS,
        publicUrl: rt.config.PUBLIC_URL, exposeUnauthenticated: rt.config.DASHBOARD_EXPOSE_UNAUTHENTICATED,
        sessionIdleMs: rt.config.DASHBOARD_SESSION_IDLE, sessionMaxAgeMs: rt.config.DASHBOARD_SESSION_MAX_AGE,
      });
      console.log(`dashboard listening on ${dashboard.listening}: ${dashboard.url} (sign in at /login; bull-board at /queues)`);
      await waitForShutdown(rt.log);
      await dashboard.close();
      await rt.engine.close();
    });

  program
    .command('standalone')
    .description('everything in one process on embedded Postgres (no Redis needed); triggers the demo DAG')
    .action(async () => {
      const [{ loadConfig }, { commandLogger, createEngine, DEMO_DAG, loadDagsFrom }, { runStandalone }] = await Promise.all([
        import('../../engine/config.ts'), import('../runtime.ts'), import('../../workers/standalone.ts'),
      ]);
      const config = loadConfig();
      const log = commandLogger(config, false);
      const dags = await loadDagsFrom(config);
      await runStandalone({ config, log, demoDag: DEMO_DAG, engine: async (url) => createEngine(config, url, dags, log) });
    });

  program
    .command('migrate')
    .description('apply the database migrations (idempotent), or roll one back with --down')
    .option('--down <tag>', 'roll back one applied migration with db/migrations/down/<tag>.sql, e.g. 0006_multi_currency')
    .action(async (opts: { down?: string }) => {
      const [{ connect }, { rollbackMigration, runMigrations }, { loadConfig, redactUrl }, { findDatabase }] = await Promise.all([
        import('../../db/client.ts'), import('../../db/migrate.ts'), import('../../engine/config.ts'), import('../find-database.ts'),
      ]);
      const found = await findDatabase(loadConfig(), { embedded: true });
      const { config, databaseUrl: url } = found;
      const database = connect(url, { max: 2, applicationName: 'tributary-migrate', schema: config.TRIBUTARY_SCHEMA });
      let moved: string[] = [];
      try {
        if (opts.down) await rollbackMigration(database, opts.down);
        else moved = (await runMigrations(database)).movedTables;
      } finally {
        await database.close();
        await found.stop();
      }
      console.log(opts.down ? `migration ${opts.down} rolled back on ${redactUrl(url)}` : `migrations applied to ${redactUrl(url)}`);
      if (moved.length > 0) {
        console.log(`moved ${moved.length} engine tables from public into schema ${config.TRIBUTARY_SCHEMA} (restart every Tributary process of the old version)`);
      }
    });
}
