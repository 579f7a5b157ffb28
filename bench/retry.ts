/**
 * bench:retry — issue 22 at W3 size: `RETRY_KILLS` (default 10) worker kill -9s at seeded moments
 * of `RETRY_ROWS`-row loads (default 977,620, a trim recorded on every valid row) that land before
 * the commit, one kill per load, each retry planning under the statistics the kill leaves
 * (test/reliability/retry-scenario.ts). stdout gets one JSON line: `clean_load_s` (the faster of
 * the same load without a kill before and after the kills), `retry_s_max` (the slowest retry
 * attempt) and the counts checked against the generator's truth; progress goes to stderr.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../test/reliability/harness.ts';
import { killThenAnalyze, loadDay, type RetryLoad } from '../test/reliability/retry-scenario.ts';
import { seededRandom } from '../test/reliability/seeded-random.ts';

const KILLS = Number(process.env.RETRY_KILLS ?? 10);
const ROWS = Number(process.env.RETRY_ROWS ?? 977_620);
const SEED = Number(process.env.CHAOS_SEED ?? 20261222);
const JOB_LOCK_MS = 5000;

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const seconds = (ms: number) => Math.round(ms) / 1000;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

/** Rows, refused rows and coercions that differ from the truth (absolute differences). */
function mismatch(load: RetryLoad) {
  const a = load.account;
  const w = load.want;
  return {
    lost: Math.max(0, w.rows - a.distinct), duplicated: a.rows - a.distinct,
    rejects: Math.abs(a.rejects - w.rejects), coercions: Math.abs(a.coercions - w.coercions), ledger: Math.abs(a.ledger - 1),
  };
}

async function main() {
  const c = await startCluster({ jobLockMs: JOB_LOCK_MS });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-retry-'));
  try {
    c.engine.startSweeper(1000, 1000);
    const random = seededRandom(SEED);
    let worker = await c.spawnWorker();
    const loads = [await loadDay(c, dir, ROWS, 0)]; // creates the tables: not a measure
    let day = 1;
    const clean = async () => {
      const load = await loadDay(c, dir, ROWS, day++);
      log(`clean load of ${ROWS} rows (${load.want.coercions} coercions): ${seconds(load.lastMs)} s, ${load.state}`);
      loads.push(load);
      return load.lastMs;
    };
    const cleanBefore = await clean();
    const retries: number[] = [];
    let kills = 0;
    // A kill that lands after the commit is no retry: kill again, up to twice as often.
    while (retries.length < KILLS && kills < 2 * KILLS) {
      const killAfter = 300 + Math.floor(random() * cleanBefore * 0.7);
      const load = await loadDay(c, dir, ROWS, day++, async () => {
        worker = await killThenAnalyze(c, worker, killAfter);
      });
      kills++;
      loads.push(load);
      const states = load.account.attempts.map((a) => a.state).join(',');
      if (load.account.attempts.length > 1) retries.push(load.lastMs);
      log(`kill ${kills} at ${seconds(killAfter)} s: attempts ${states}, last ${seconds(load.lastMs)} s, ${load.state}`);
    }
    const cleanAfter = await clean();
    const cleanMs = Math.min(cleanBefore, cleanAfter);
    const bad = loads.map(mismatch);
    const sum = (key: keyof ReturnType<typeof mismatch>) => bad.reduce((n, m) => n + m[key], 0);
    const bound = 2 * cleanMs + 5000;
    console.log(JSON.stringify({
      rows_per_load: ROWS, coercions_per_load: loads[0].want.coercions, kills, retries: retries.length,
      clean_load_s: seconds(cleanMs), clean_load_s_before_after: [seconds(cleanBefore), seconds(cleanAfter)],
      retry_s_max: seconds(Math.max(0, ...retries)), retry_s_p50: seconds(quantile(retries, 0.5)),
      retry_bound_s: seconds(bound), retries_over_bound: retries.filter((ms) => ms >= bound).length,
      runs_failed: loads.filter((l) => l.state !== 'success').length,
      rows_lost: sum('lost'), rows_duplicated: sum('duplicated'), rejects_off: sum('rejects'), coercions_off: sum('coercions'), ledger_off: sum('ledger'),
      job_lock_ms: JOB_LOCK_MS, seed: SEED,
    }));
  } finally {
    await c.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
