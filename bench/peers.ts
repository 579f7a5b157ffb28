/**
 * bench:peers — Tributary beside the job queues it is measured against, in one process, on the
 * same Postgres and Redis: graphile-worker, pg-boss, raw BullMQ (Redis and PostgreSQL backend; and
 * on Redis with each job's claim and end committed to Postgres, the floor of a durable hop), and Tributary on both backends with hand-over on and off. Each round runs every system in turn
 * (interleaved, so a slow minute hurts all alike), each alone: made on a fresh database, warmed
 * up, measured, closed — no other system's workers poll the servers while one is measured. It
 * measures a chain of HOPS jobs each adding the next
 * (ms per hop), a fan-out of FANOUT jobs added at once (jobs/s, and the CPU it cost per job from
 * /proc: this process, the Postgres server, redis-server), and PINGS single jobs one after another
 * (median ms from add to handler start). Best of ROUNDS; CPU is the mean over the rounds.
 * PG_BIN picks the Postgres binaries (test/support/services.ts); `--only <text>` runs the systems
 * whose name holds it. Progress goes to stderr; stdout is one JSON line.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freshDatabase, startServices } from '../test/support/services.ts';
import { cpuMeter, cpuSince, type CpuSample } from './peers/cpu.ts';
import { timed, type Contender, type Sizes } from './peers/contender.ts';
import { bullmq, graphileWorker, pgBoss } from './peers/queues.ts';
import { tributary } from './peers/tributary.ts';

const SIZES: Sizes = { hops: 100, fanout: 1000, concurrency: 8 };
const ROUNDS = 3;
const PINGS = 20;

interface Tally {
  chainMs: number;
  fanoutMs: number;
  pingMs: number;
  cpu: CpuSample;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/** The postmaster's pid (the parent of a backend) and the server's version. */
async function postgresServer(url: string): Promise<{ pid: number; version: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ pid: number; version: string }>("SELECT pg_backend_pid() AS pid, current_setting('server_version') AS version");
  const stat = readFileSync(`/proc/${rows[0].pid}/stat`, 'utf8'); // while the backend lives
  await client.end();
  return { pid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), version: rows[0].version };
}

async function redisPid(url: string): Promise<number> {
  const redis = new Redis(url);
  const info = await redis.info('server');
  redis.disconnect();
  return Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
}

async function main() {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : '';
  const services = await startServices({ redis: true });
  const contenders: Contender[] = [];
  try {
    const redisUrl = String(services.redisUrl);
    const server = await postgresServer(services.databaseUrl);
    const meter = cpuMeter(server.pid, await redisPid(redisUrl));
    const db = (name: string) => freshDatabase(services.databaseUrl, `peers_${name}`);
    const makers: Array<[string, () => Promise<Contender>]> = [
      ['graphile-worker', async () => graphileWorker(await db('graphile'), SIZES)],
      ['pg-boss', async () => pgBoss(await db('pgboss'), SIZES)],
      ['bullmq redis', async () => bullmq(SIZES, { redisUrl })],
      ['bullmq postgres', async () => bullmq(SIZES, { databaseUrl: await db('bullmq') })],
      ['bullmq redis, claim and end committed to postgres', async () => bullmq(SIZES, { redisUrl, commitsTo: await db('bullmq_commits') })],
      ['tributary redis', async () => tributary(SIZES, 'redis', 20, await db('trib_redis'), redisUrl)],
      ['tributary redis HANDOVER_MAX=0', async () => tributary(SIZES, 'redis', 0, await db('trib_redis_h0'), redisUrl)],
      ['tributary postgres', async () => tributary(SIZES, 'postgres', 20, await db('trib_pg'), redisUrl)],
      ['tributary postgres HANDOVER_MAX=0', async () => tributary(SIZES, 'postgres', 0, await db('trib_pg_h0'), redisUrl)],
    ];
    const tallies = new Map<string, Tally[]>();
    for (let r = 1; r <= ROUNDS; r++) {
      for (const [name, make] of makers) {
        if (!name.includes(only)) continue;
        console.error(`[bench:peers] round ${r} of ${ROUNDS}: ${name}…`);
        const contender = await make();
        contenders.push(contender);
        await contender.chain(); // warm-up: connections, prepared statements, JIT
        await contender.fanout();
        await contender.addToStart();
        const chainMs = await timed(() => contender.chain());
        const before = meter.sample();
        const fanoutMs = await timed(() => contender.fanout());
        const cpu = cpuSince(before, meter.sample());
        const pings: number[] = [];
        for (let i = 0; i < PINGS; i++) pings.push(await contender.addToStart());
        tallies.set(name, [...(tallies.get(name) ?? []), { chainMs, fanoutMs, pingMs: median(pings), cpu }]);
        await contender.close();
        contenders.splice(contenders.indexOf(contender), 1);
      }
    }
    const rows = [...tallies].map(([name, t]) => {
      const perTask = (key: keyof CpuSample) => round(t.reduce((sum, x) => sum + x.cpu[key], 0) / (t.length * SIZES.fanout), 3);
      const cpu = { node: perTask('node'), postgres: perTask('postgres'), redis: perTask('redis') };
      return {
        system: name,
        chain_ms_per_hop: round(Math.min(...t.map((x) => x.chainMs)) / SIZES.hops),
        fanout_jobs_per_s: round(SIZES.fanout / (Math.min(...t.map((x) => x.fanoutMs)) / 1000), 0),
        add_to_start_ms: round(Math.min(...t.map((x) => x.pingMs))),
        cpu_ms_per_task: { ...cpu, total: round(cpu.node + cpu.postgres + cpu.redis, 3) },
      };
    });
    console.log(JSON.stringify({
      postgres: server.version, concurrency: SIZES.concurrency, chain_hops: SIZES.hops, fanout_jobs: SIZES.fanout,
      add_to_start_of: PINGS, rounds: ROUNDS, systems: rows,
    }));
  } finally {
    for (const c of contenders) await c.close().catch((err: unknown) => console.error(`[bench:peers] closing ${c.name}:`, err));
    await services.stop();
  }
}

await main();
