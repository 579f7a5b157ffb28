/** A private redis-server (from PATH) on a free loopback port, for tests and benchmarks. */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../db/embedded.ts';

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
  /** SIGKILL: gone at once, with nothing saved. */
  kill(): Promise<void>;
}

export async function startRedisServer(fixedPort?: number): Promise<RedisServer> {
  const port = fixedPort ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`))),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    const ok = await Promise.race([client.connect().then(() => client.ping()).then(() => true, () => false), exited]);
    client.disconnect();
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer on ${url} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  exited.catch(() => undefined); // an exit after start is the caller's doing
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  };
  return { url, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
