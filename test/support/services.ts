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
  /** Runs every stop, last started first, even past a failing one; throws the first failure. */
  const stop = async () => {
    const failures: unknown[] = [];
    for (const s of [...stops].reverse()) await s().catch((err: unknown) => failures.push(err));
    if (failures.length > 0) throw failures[0];
  };
  try {
    let databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-pg-'));
      stops.push(() => fs.rm(dir, { recursive: true, force: true }));
      await fs.chmod(dir, 0o711); // as root the `postgres` user must reach its data here (else it moves to tmp)
      const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false, durable: false });
      databaseUrl = pg.url;
      stops.push(pg.stop);
    }
    let redisUrl = process.env.REDIS_URL;
    if (options.redis && !redisUrl) {
      const redis = await startRedisServer();
      redisUrl = redis.url;
      stops.push(redis.stop);
    }
    return { databaseUrl, redisUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
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
