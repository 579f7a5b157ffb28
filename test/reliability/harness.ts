/**
 * Real processes for the chaos suite: a private Postgres that can be restarted (`-m immediate`
 * is SIGQUIT to the postmaster) or stopped for a while, a private redis-server that can be killed
 * and restarted empty on the same port, worker child processes, and an engine in this process
 * for triggering runs and sweeping. Loopback only; every scenario owns its servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { connect, type Database } from '../../db/client.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../../db/embedded.ts';
import { runMigrations } from '../../db/migrate.ts';
import { compileDag } from '../../engine/dag.ts';
import { Engine } from '../../engine/engine.ts';
import { builtinKinds } from '../../jobs/index.ts';
import { cliEnv, spawnTrib } from '../support/cli.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { chaosDags, chaosKinds } from './chaos-dags.ts';

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Postgres of its own, on a fixed port and data folder, so it can be restarted in place. */
export class PrivatePostgres {
  private server?: EmbeddedServer;
  private constructor(private readonly dataDir: string, readonly port: number) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-chaos-pg-'));
    const pg = new PrivatePostgres(path.join(dir, 'data'), await freePort());
    await pg.up();
    return pg;
  }

  get url(): string {
    return `postgres://postgres:tributary@127.0.0.1:${this.port}/postgres`;
  }

  private async up(): Promise<void> {
    this.server = await startEmbeddedPostgres({ dataDir: this.dataDir, port: this.port, persistent: true, durable: false });
  }

  /** `pg_ctl stop -m immediate`: SIGQUIT to the postmaster, no shutdown checkpoint; then waits for its exit. */
  async crash(): Promise<void> {
    const dataDir = (this.server as EmbeddedServer).dataDir;
    const pid = Number((await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(pid, 'SIGQUIT');
    await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 20_000, 'the postmaster to exit');
    await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
  }

  /** Crash, stay down for `downMs`, start again on the same port and data. */
  async restart(downMs = 0): Promise<void> {
    await this.crash();
    await sleep(downMs);
    await this.up();
  }

  async stop(): Promise<void> {
    await this.server?.stop().catch(() => undefined);
    await fs.rm(path.dirname(this.dataDir), { recursive: true, force: true });
  }
}

/** A redis-server of its own that can be killed and brought back empty on the same port. */
export class PrivateRedis {
  private server?: RedisServer;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    redis.server = await startRedisServer(redis.port);
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** SIGKILL, then a new empty server on the same port after `downMs`. */
  async wipe(downMs = 0): Promise<void> {
    await this.server?.kill();
    await sleep(downMs);
    this.server = await startRedisServer(this.port);
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

export interface Cluster {
  backend: 'redis' | 'postgres';
  pg: PrivatePostgres;
  redis: PrivateRedis;
  database: Database;
  databaseUrl: string;
  /** This process's engine: triggers runs and sweeps; runs no workers. */
  engine: Engine;
  prefix: string;
  workers: ChildProcess[];
  spawnWorker(env?: Record<string, string>): Promise<ChildProcess>;
  close(): Promise<void>;
}

/** Private Postgres (migrated) + Redis + an engine here; workers are child processes. */
export async function startCluster(options: { backend?: 'redis' | 'postgres'; jobLockMs?: number } = {}): Promise<Cluster> {
  // Both servers start before anything connects, so a restart of either later is a real outage.
  const backend = options.backend ?? 'redis';
  const pg = await PrivatePostgres.start();
  const redis = await PrivateRedis.start();
  const databaseUrl = pg.url;
  const database = connect(databaseUrl, { max: 4 });
  await runMigrations(database);
  const kinds = builtinKinds();
  for (const kind of chaosKinds) kinds.set(kind.name, kind);
  const dags = new Map(chaosDags.map((spec) => [spec.id, compileDag(spec, 'test/reliability/chaos-dags.ts', kinds)]));
  const prefix = backend === 'redis' ? 'chaos' : 'bullmq_chaos';
  const engine = new Engine({
    databaseUrl, queueBackend: backend, redisUrl: redis.url, queuePrefix: prefix, dags, kinds, log: pino({ level: 'silent' }),
    dataRoots: [os.tmpdir()],
  });
  await engine.register();
  const workers: ChildProcess[] = [];
  const jobLockMs = String(options.jobLockMs ?? 2000);
  return {
    backend, pg, redis, database, databaseUrl, engine, prefix, workers,
    async spawnWorker(env = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'chaos-worker.ts')], {
        env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redis.url, QUEUE_BACKEND: backend, QUEUE_PREFIX: prefix, JOB_LOCK_MS: jobLockMs, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      workers.push(child);
      let stderr = '';
      child.stderr?.on('data', (c) => (stderr = (stderr + String(c)).slice(-4000)));
      return new Promise((resolve, reject) => {
        child.stdout?.on('data', (chunk) => String(chunk).includes('worker ready') && resolve(child));
        child.once('exit', (code, signal) => reject(new Error(`worker exited early (${code ?? signal}): ${stderr}`)));
      });
    },
    async close() {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
      await engine.close().catch(() => undefined);
      await database.close().catch(() => undefined);
      await redis.stop();
      await pg.stop();
    },
  };
}

export const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** A DAG without a cron schedule: a scheduler holding only this must stay up (its sweeper keeps it alive). */
export const MANUAL_ONLY_DAG = `export default defineDag({ id: 'manual_only', tasks: { t: { kind: 'noop' } } });`;

/** A real `trib scheduler` against the cluster, its DAG folder holding one DAG file (`defineDag` in scope). */
export async function spawnScheduler(
  c: Cluster,
  dagSource = MANUAL_ONLY_DAG,
  options: { env?: Record<string, string>; waitReady?: boolean } = {},
): Promise<{ child: ChildProcess; output(): string }> {
  const dagsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'chaos-dags-'));
  const dagModule = pathToFileURL(path.resolve(import.meta.dirname, '../../engine/dag.ts')).href;
  await fs.writeFile(path.join(dagsDir, 'package.json'), '{"type":"module"}\n');
  await fs.writeFile(path.join(dagsDir, 'dag.ts'), `import { defineDag } from '${dagModule}';\n${dagSource}\n`);
  const trib = spawnTrib(['scheduler'], cliEnv({
    DATABASE_URL: c.databaseUrl, REDIS_URL: c.redis.url, QUEUE_BACKEND: c.backend, QUEUE_PREFIX: c.prefix,
    DAGS_DIR: dagsDir, SWEEP_INTERVAL_MS: '1000', LOG_LEVEL: 'info', ...options.env,
  }));
  const output = () => trib.out() + trib.err();
  if (options.waitReady !== false) await waitFor(() => /scheduler running/.test(output()), 30_000, 'the scheduler to start');
  c.workers.push(trib.child);
  return { child: trib.child, output };
}
