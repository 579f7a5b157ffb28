/**
 * Real processes for the chaos suite: a private Postgres that can be restarted (`-m immediate`
 * is SIGQUIT to the postmaster) or stopped for a while, a private redis-server that can be killed
 * and restarted empty on the same port, worker child processes, and an engine in this process
 * for triggering runs and sweeping. Loopback only; every scenario owns its servers, and close()
 * removes every folder the cluster made (data, DAG folders), also after a failed or killed step.
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
  /** Set by stop(): a restart still sleeping through its outage then starts nothing. */
  private stopped = false;
  private constructor(private readonly dataDir: string, readonly port: number) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-chaos-pg-'));
    await fs.chmod(dir, 0o711); // as root the `postgres` user must reach its data here (else it moves to tmp)
    const pg = new PrivatePostgres(path.join(dir, 'data'), await freePort());
    try {
      await pg.up();
    } catch (err) {
      await pg.stop();
      throw err;
    }
    return pg;
  }

  get url(): string {
    return `postgres://postgres:tributary@127.0.0.1:${this.port}/postgres`;
  }

  private async up(): Promise<void> {
    if (this.stopped) throw new Error('the private Postgres was stopped');
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

  /** Stops the server (returns at once if it is down) and removes its data, wherever embedded.ts put it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.server?.stop().catch(() => undefined);
    for (const dir of [path.dirname(this.dataDir), this.server?.dataDir]) if (dir) await fs.rm(dir, { recursive: true, force: true });
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
  /** A new folder in the temp folder, removed by close(). */
  tempDir(label: string): Promise<string>;
  /** Kills the workers (waiting for their exit), stops everything, removes every folder it made. */
  close(): Promise<void>;
}

/** Private Postgres (migrated) + Redis + an engine here; workers are child processes. */
export async function startCluster(options: { backend?: 'redis' | 'postgres'; jobLockMs?: number } = {}): Promise<Cluster> {
  // Both servers start before anything connects, so a restart of either later is a real outage.
  const backend = options.backend ?? 'redis';
  const workers: ChildProcess[] = [];
  const dirs: string[] = [];
  /** Undo steps, last first; each runs even when an earlier one fails. */
  const undo: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const w of workers) {
      if (!alive(w)) continue;
      const gone = new Promise((r) => w.once('exit', r));
      w.kill('SIGKILL');
      await gone;
    }
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  };
  const tempDir = async (label: string) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${label}-`));
    dirs.push(dir);
    return dir;
  };
  const jobLockMs = String(options.jobLockMs ?? 2000);
  try {
    const pg = await PrivatePostgres.start();
    undo.push(() => pg.stop());
    const redis = await PrivateRedis.start();
    undo.push(() => redis.stop());
    const databaseUrl = pg.url;
    const database = connect(databaseUrl, { max: 4 });
    undo.push(() => database.close());
    await runMigrations(database);
    const kinds = builtinKinds();
    for (const kind of chaosKinds) kinds.set(kind.name, kind);
    const dags = new Map(chaosDags.map((spec) => [spec.id, compileDag(spec, 'test/reliability/chaos-dags.ts', kinds)]));
    const prefix = backend === 'redis' ? 'chaos' : 'bullmq_chaos';
    const engine = new Engine({
      databaseUrl, queueBackend: backend, redisUrl: redis.url, queuePrefix: prefix, dags, kinds, log: pino({ level: 'silent' }),
      dataRoots: [os.tmpdir()],
    });
    undo.push(() => engine.close());
    await engine.register();
    return {
      backend, pg, redis, database, databaseUrl, engine, prefix, workers, tempDir, close,
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
    };
  } catch (err) {
    await close();
    throw err;
  }
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
  const dagsDir = await c.tempDir('chaos-dags');
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
