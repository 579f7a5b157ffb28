/** Services for benchmarks, started the way the tests start them (or taken from DATABASE_URL / REDIS_URL). */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { startRedisServer } from '../test/support/redis-server.ts';

export interface BenchServices {
  databaseUrl: string;
  redisUrl?: string;
  stop(): Promise<void>;
}

export async function startBenchServices(options: { redis: boolean }): Promise<BenchServices> {
  const stops: Array<() => Promise<void>> = [];
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-bench-pg-'));
    const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false, durable: false });
    databaseUrl = pg.url;
    stops.push(async () => {
      await pg.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });
  }
  let redisUrl = process.env.REDIS_URL;
  if (options.redis && !redisUrl) {
    const redis = await startRedisServer();
    redisUrl = redis.url;
    stops.push(redis.stop);
  }
  return {
    databaseUrl,
    redisUrl,
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

/** A fresh database on the bench server. */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
