/**
 * A private Redis Cluster for tests and benchmarks: three redis-server masters (from PATH) in
 * cluster mode on free loopback ports, each with its own temp folder for nodes.conf, joined by
 * `redis-cli --cluster create` (no replicas) and ready once every node says `cluster_state:ok`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../db/embedded.ts';

const run = promisify(execFile);

export interface RedisCluster {
  /** The seed nodes as REDIS_URL takes them with REDIS_CLUSTER=true: `redis://127.0.0.1:p1,redis://127.0.0.1:p2,…`. */
  url: string;
  ports: number[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: { port: number; dir: string; child: ChildProcess }[] = [];
  const stop = async () => {
    await Promise.all(nodes.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL'); // nothing in a test cluster is worth saving
      await gone;
    }));
    await Promise.all(nodes.map(({ dir }) => fs.rm(dir, { recursive: true, force: true })));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-redis-cluster-'));
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', '5000', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
      ], { stdio: 'ignore' });
      nodes.push({ port, dir, child });
    }
    const ports = nodes.map((n) => n.port);
    await Promise.all(ports.map((port) => waitFor(port, async (client) => Boolean(await client.ping()))));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    await Promise.all(ports.map((port) => waitFor(port, async (client) => /cluster_state:ok/.test(await client.cluster('INFO')))));
    return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls one node until `ready` holds, for at most 15 s. */
async function waitFor(port: number, ready: (client: Redis) => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    const ok = await client.connect().then(() => ready(client)).catch(() => false);
    client.disconnect();
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis cluster node 127.0.0.1:${port} not ready within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
