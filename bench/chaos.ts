/**
 * bench:chaos — the chaos suite at scale, real processes on private servers: `CHAOS_KILLS`
 * (default 20) worker kill -9s at seeded points during `CHAOS_RUNS` loads of `CHAOS_ROWS` rows
 * each (default 2 × 1.5M = a 3M-row day), then a Postgres restart (`-m immediate`), a Postgres
 * stop of `CHAOS_PG_STOP_S` (default 90) and a Redis wipe under running work, and a worker
 * SIGSTOPped mid-load (taken over while it stays stopped). `retry_s_max`: the slowest last attempt
 * of a killed load (the retry after its last kill), beside `clean_load_s`, a load nobody killed. Counts come from SQL against the generator's truth. Progress goes to
 * stderr; stdout gets one JSON line.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { triggerRun } from '../engine/operations.ts';
import { alive, startCluster, type Cluster } from '../test/reliability/harness.ts';
import { writeItemsFile } from '../test/reliability/items-file.ts';
import { accountLoad, chainThroughOutage, expectedAccount, killAndReplace, waitForRunState } from '../test/reliability/scenarios.ts';
import { seededRandom } from '../test/reliability/seeded-random.ts';

const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
const RUNS = Number(process.env.CHAOS_RUNS ?? 2);
const ROWS = Number(process.env.CHAOS_ROWS ?? 1_500_000);
const SEED = Number(process.env.CHAOS_SEED ?? 20261201);
const JOB_LOCK_MS = 5000;
const PG_STOP_S = Number(process.env.CHAOS_PG_STOP_S ?? 90);
/**
 * Kills land up to this long into an attempt. A kill drawn past the load's end is not made (`kills`
 * then falls short of `kills_planned`): keep it under a clean load (`clean_load_s`, ~6.5 s here).
 */
const KILL_WINDOW_MS = Number(process.env.CHAOS_KILL_WINDOW_MS ?? 5000);

/** Every kill of a run lands on the same try: the WORKER_LOST limit must not end it first. */
const WORKER_ENV = { CONCURRENCY: '2', WORKER_LOST_LIMIT: String(KILLS + 1) };

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

/** Watches worker processes: an exit nobody asked for is a worker that died. */
class Workers {
  died = 0;
  private readonly expected = new Set<ChildProcess>();
  constructor(private readonly c: Cluster) {}

  async spawn(): Promise<ChildProcess> {
    const w = await this.c.spawnWorker(WORKER_ENV);
    w.once('exit', () => !this.expected.has(w) && this.died++);
    return w;
  }

  async replace(w: ChildProcess): Promise<ChildProcess> {
    this.expected.add(w);
    const next = await killAndReplace(this.c, w, WORKER_ENV);
    next.once('exit', () => !this.expected.has(next) && this.died++);
    return next;
  }
}

/**
 * Waits until an attempt of the load of `runId` numbered above `after` is running, and returns its
 * number — or null once the run has ended. (A killed attempt still reads 'running' until a new
 * delivery takes the try over, so the attempt number is what tells recovery.)
 */
async function attemptRunning(c: Cluster, runId: number, after: number): Promise<number | null> {
  for (;;) {
    const { rows } = await c.database.pool.query(
      `SELECT r.state AS run, ti.state AS task, ti.attempt FROM dag_runs r JOIN task_instances ti ON ti.run_id = r.id WHERE r.id = $1`, [runId]);
    if (rows[0].task === 'running' && rows[0].attempt > after) return rows[0].attempt as number;
    if (rows[0].run !== 'running' && rows[0].run !== 'queued') return null;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function killsDuringLoads(c: Cluster, workers: Workers, dir: string) {
  const random = seededRandom(SEED);
  let worker = await workers.spawn();
  const out = {
    runs: 0, succeeded: 0, lost: 0, duplicated: 0, auditDuplicated: 0, doubleExecutions: 0, kills: 0, recoveries: [] as number[],
    /** Seconds of each run's last attempt (the retry after its last kill), and of a load nobody killed. */
    retries: [] as number[], cleanLoadS: 0,
  };
  {
    // A clean load of the same size first: the yardstick of every retry after a kill.
    const file = path.join(dir, 'items_clean.csv');
    const truth = await writeItemsFile(file, ROWS + RUNS + 1);
    await c.database.pool.query('TRUNCATE chaos_items').catch(() => undefined);
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chaos_load')!, { date: '2025-06-30', params: { file } });
    await waitForRunState(c, runId, 600_000);
    const account = await accountLoad(c, runId);
    if (account.rows !== expectedAccount(truth).rows) throw new Error('the clean load did not load its truth');
    out.cleanLoadS = Math.round(account.attempts.at(-1)?.ms ?? 0) / 1000;
    log(`clean load: ${out.cleanLoadS} s`);
  }
  for (let run = 0; run < RUNS; run++) {
    const file = path.join(dir, `items_${run}.csv`);
    const truth = await writeItemsFile(file, ROWS + run);
    await c.database.pool.query('TRUNCATE chaos_items').catch(() => undefined);
    const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chaos_load')!, {
      date: `2025-07-${String(run + 1).padStart(2, '0')}`, params: { file },
    });
    const kills = Math.floor(KILLS / RUNS) + (run < KILLS % RUNS ? 1 : 0);
    let attempt: number | null = 0;
    for (let k = 0; k < kills; k++) {
      // Kill at a seeded point of the running attempt; a load that already finished takes no more kills.
      attempt = await attemptRunning(c, runId, attempt);
      if (attempt === null) break;
      await new Promise((r) => setTimeout(r, 300 + Math.floor(random() * KILL_WINDOW_MS)));
      const killedAt = Date.now();
      worker = await workers.replace(worker);
      out.kills++;
      // Recovery: from the kill until the next attempt runs (or the run has ended).
      const next = await attemptRunning(c, runId, attempt);
      out.recoveries.push((Date.now() - killedAt) / 1000);
      log(`run ${run}: kill ${k + 1}/${kills} of attempt ${attempt}, recovered in ${out.recoveries.at(-1)} s`);
      attempt = next === null ? null : next - 1; // the next kill targets the attempt that just started
      if (attempt === null) break;
    }
    out.runs++;
    if ((await waitForRunState(c, runId, 600_000)) === 'success') out.succeeded++;
    const account = await accountLoad(c, runId);
    const want = expectedAccount(truth);
    if (kills > 0) out.retries.push(Math.round(account.attempts.at(-1)?.ms ?? 0) / 1000);
    out.lost += Math.max(0, want.rows - account.distinct);
    out.duplicated += account.rows - account.distinct;
    out.auditDuplicated += Math.max(0, account.rejects - want.rejects);
    out.doubleExecutions += Math.max(0, account.attempts.filter((a) => a.state === 'success').length - 1) + Math.max(0, account.ledger - 1);
  }
  return { out, worker };
}

/** Attempts recorded `lost` in these runs: with no worker dead, each is an outage taken for a death. */
async function lostAttempts(c: Cluster, runIds: number[]): Promise<number> {
  const { rows } = await c.database.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
     WHERE ti.run_id = ANY($1::bigint[]) AND a.state = 'lost'`, [runIds]);
  return rows[0].n;
}

/** A worker SIGSTOPped mid-load while another runs: seconds from the stop until the load's run succeeded. */
async function stoppedWorkerTakeover(c: Cluster, workers: Workers, dir: string): Promise<{ seconds: number; ok: boolean }> {
  const file = path.join(dir, 'items_stopped.csv');
  const truth = await writeItemsFile(file, ROWS + RUNS); // other rows than any earlier load's file (the ledger skips a file it has)
  await c.database.pool.query('TRUNCATE chaos_items').catch(() => undefined);
  const { runId } = await triggerRun(c.engine.pool, c.engine.dispatcher, c.engine.dags.get('chaos_load')!, { date: '2025-08-04', params: { file } });
  // The worker running the load (its name ends with its pid) stops a second into it; another takes over.
  let running: { worker: string } | undefined;
  for (const deadline = Date.now() + 120_000; !running && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    ({ rows: [running] } = await c.database.pool.query<{ worker: string }>(
      `SELECT a.worker FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'load' AND a.state = 'running'`, [runId]));
  }
  if (!running) return { seconds: -1, ok: false };
  await new Promise((r) => setTimeout(r, 1000));
  const stopped = Number(running.worker.split(':').pop());
  const taker = await workers.spawn();
  process.kill(stopped, 'SIGSTOP');
  const at = Date.now();
  try {
    const state = await waitForRunState(c, runId, 600_000);
    const seconds = (Date.now() - at) / 1000;
    const account = await accountLoad(c, runId);
    const want = expectedAccount(truth);
    return { seconds, ok: state === 'success' && account.rows === want.rows && account.distinct === want.rows && alive(taker) };
  } finally {
    process.kill(stopped, 'SIGCONT');
  }
}

async function main() {
  const c = await startCluster({ jobLockMs: JOB_LOCK_MS });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-chaos-'));
  try {
    c.engine.startSweeper(1000, 1000);
    const workers = new Workers(c);
    const { out, worker } = await killsDuringLoads(c, workers, dir);

    log('Postgres restart under a running chain');
    const pgRun = await chainThroughOutage(c, '2025-08-01', () => c.pg.restart(2000), 180_000);
    const pgOk = pgRun.state === 'success' && alive(worker) && pgRun.effects.every(([, n]) => n === 1)
      && pgRun.tries.every(([, t]) => t === 1);

    log(`Postgres stopped ${PG_STOP_S} s under a running chain`);
    const pgStopRun = await chainThroughOutage(c, '2025-08-03', () => c.pg.restart(PG_STOP_S * 1000), 600_000);
    const pgStopOk = pgStopRun.state === 'success' && alive(worker) && pgStopRun.effects.every(([, n]) => n === 1);

    log('a worker SIGSTOPped mid-load');
    const stopped = await stoppedWorkerTakeover(c, workers, dir);

    log('Redis wipe under a running chain');
    const redisRun = await chainThroughOutage(c, '2025-08-02', () => c.redis.wipe(1000), 180_000);
    const redisOk = redisRun.state === 'success' && alive(worker) && redisRun.effects.every(([, n]) => n === 1);
    out.doubleExecutions += [...pgRun.effects, ...pgStopRun.effects, ...redisRun.effects].reduce((n, [, e]) => n + Math.max(0, Number(e) - 1), 0);
    const outageRuns = [pgRun.runId, pgStopRun.runId, redisRun.runId];

    console.log(JSON.stringify({
      kills: out.kills, kills_planned: KILLS, runs: out.runs, runs_succeeded: out.succeeded, rows_per_run: ROWS,
      rows_lost: out.lost, rows_duplicated: out.duplicated, audit_duplicated: out.auditDuplicated,
      double_executions: out.doubleExecutions, workers_died: workers.died,
      recovery_s_p50: quantile(out.recoveries, 0.5), recovery_s_max: Math.max(0, ...out.recoveries),
      job_lock_ms: JOB_LOCK_MS, pg_restart_ok: pgOk, pg_stop_s: PG_STOP_S, pg_stop_ok: pgStopOk,
      lost_attempts_without_death: await lostAttempts(c, outageRuns), stopped_worker_takeover_s: stopped.seconds,
      clean_load_s: out.cleanLoadS, retry_s_max: Math.max(0, ...out.retries),
      stopped_worker_ok: stopped.ok, redis_restart_ok: redisOk, seed: SEED,
    }));
  } finally {
    await c.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
