/**
 * Starts the real services the suites share, once per `vitest run`: an embedded Postgres and a
 * private redis-server on free ports — unless DATABASE_URL / REDIS_URL point at existing ones.
 * Each test file then makes its own database and queue prefix (test/support/db.ts).
 * The run gets a temp folder of its own (run-temp-dir.ts): teardown fails if anything is left in it.
 */
import type { TestProject } from 'vitest/node';
import { useRunTempDir, type RunTempDir } from './run-temp-dir.ts';
import { startServices, type Services } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

/**
 * One temp folder per `vitest run`, shared by the setups of its projects (vitest.config.ts: the
 * engine suite again on PostgreSQL 15), each with its own services: the last teardown checks it.
 * Process-wide, as each project may load this module afresh.
 */
const shared = globalThis as { tributaryRunTemp?: { temp: Promise<RunTempDir>; users: number } };
async function sharedRunTempDir(): Promise<Pick<RunTempDir, 'finish'>> {
  const entry = (shared.tributaryRunTemp ??= { temp: useRunTempDir(), users: 0 });
  entry.users++;
  const temp = await entry.temp;
  return {
    async finish() {
      if (--entry.users > 0) return;
      delete shared.tributaryRunTemp;
      await temp.finish();
    },
  };
}

export default async function setup(project: TestProject) {
  const temp = await sharedRunTempDir();
  let services: Services;
  try {
    services = await startServices({ redis: true, pgBin: project.config.env?.PG_BIN }); // a project's own PostgreSQL (vitest.config.ts)
  } catch (err) {
    await temp.finish().catch(() => undefined); // the start's own error is the one to see
    throw err;
  }
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('redisUrl', String(services.redisUrl));
  // vitest prints a teardown error ("error during close") but exits 0 for it: fail the run here.
  return async () => {
    const failures: unknown[] = [];
    await services.stop().catch((err: unknown) => failures.push(err));
    await temp.finish().catch((err: unknown) => failures.push(err));
    if (failures.length === 0) return;
    process.exitCode = 1;
    throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'test teardown failed');
  };
}
