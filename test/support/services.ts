/**
 * The real services tests and benchmarks share: an embedded Postgres and a private redis-server on
 * free ports — or the existing ones DATABASE_URL / REDIS_URL point at.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { startRedisServer } from './redis-server.ts';

export interface Services {
  databaseUrl: string;
  redisUrl?: string;
  stop(): Promise<void>;
}

export async function startServices(options: { redis: boolean }): Promise<Services> {
  const stops: Array<() => Promise<void>> = [];
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-pg-'));
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

/** A fresh, empty database on the server (dropped first if it exists). */
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
