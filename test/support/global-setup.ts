/**
 * Starts the real services the suites share, once per `vitest run`: an embedded Postgres and a
 * private redis-server on free ports — unless DATABASE_URL / REDIS_URL point at existing ones.
 * Each test file then makes its own database and queue prefix (test/support/db.ts).
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { startRedisServer } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const stops: Array<() => Promise<void>> = [];
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-test-pg-'));
    const pg = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'data'), persistent: false, durable: false });
    databaseUrl = pg.url;
    stops.push(async () => {
      await pg.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    });
  }
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const redis = await startRedisServer();
    redisUrl = redis.url;
    stops.push(redis.stop);
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
