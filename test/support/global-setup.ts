/**
 * Starts the real services the suites share, once per `vitest run`: an embedded Postgres and a
 * private redis-server on free ports — unless DATABASE_URL / REDIS_URL point at existing ones.
 * Each test file then makes its own database and queue prefix (test/support/db.ts).
 */
import type { TestProject } from 'vitest/node';
import { startServices } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const services = await startServices({ redis: true });
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('redisUrl', String(services.redisUrl));
  return services.stop;
}
