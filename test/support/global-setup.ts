/**
 * Starts the real services the suites share, once per `vitest run`: an embedded Postgres and a
 * private redis-server on free ports — unless DATABASE_URL / REDIS_URL point at existing ones.
 * Each test file then makes its own database and queue prefix (test/support/db.ts).
 * The run gets a temp folder of its own (run-temp-dir.ts): teardown fails if anything is left in it.
 */
import type { TestProject } from 'vitest/node';
import { useRunTempDir } from './run-temp-dir.ts';
import { startServices, type Services } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const temp = await useRunTempDir();
  let services: Services;
  try {
    services = await startServices({ redis: true });
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
