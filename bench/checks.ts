/**
 * bench:checks — the credit platform DAG's whole check + reconciliation suite
 * (schedules/credit_platform/checks.ts, reconciliations.ts) on its tables filled at real size
 * (~219k rows, bench/w2-tables.ts), with the indexes the migrations create and no others. Runs
 * the validate and reconcile handlers as the engine would (one transaction each), three times;
 * prints progress to stderr and ONE JSON line on stdout. Goal: under 2 s.
 */
import { pino } from 'pino';
import { drizzle } from 'drizzle-orm/node-postgres';
import { freshDatabase, startServices } from '../test/support/services.ts';
import { connect, type Database } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { AfterCommit } from '../engine/after-commit.ts';
import { TributaryError } from '../engine/errors.ts';
import type { HandlerOutcome, TaskContext } from '../engine/types.ts';
import { auditTarget, ensureAuditTable } from '../jobs/load/audit.ts';
import { validateKind } from '../jobs/validate/index.ts';
import { reconcileKind } from '../jobs/reconcile/index.ts';
import { CREDIT_CHECKS } from '../schedules/credit_platform/checks.ts';
import { auditTableOf } from '../schedules/credit_platform/loads.ts';
import { CREDIT_TABLES, qualified } from '../schedules/credit_platform/model.ts';
import { CREDIT_RECONCILIATIONS } from '../schedules/credit_platform/reconciliations.ts';
import { W2_ROWS, fillW2Tables } from './w2-tables.ts';

const log = (msg: string) => process.stderr.write(`[bench:checks] ${msg}\n`);
const RUNS = 3;

/** One handler call in its own transaction, committed like the engine (also on keepWrites errors). */
async function asTask(database: Database, runId: string, taskId: string, fn: (ctx: TaskContext) => Promise<HandlerOutcome>) {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const logicalDate = new Date('2025-05-13T00:00:00Z');
    const ctx: TaskContext = {
      dagId: 'credit_platform', runId, taskId, mapIndex: -1, tryNumber: 1, logicalDate,
      dataInterval: { start: logicalDate, end: new Date('2025-05-14T00:00:00Z') },
      params: {}, upstream: {}, dataRoots: [], log: pino({ level: 'silent' }), client, db: drizzle(client), signal: new AbortController().signal,
      // validate and reconcile register no after-commit effects
      ...new AfterCommit(client, { taskInstanceId: null, tryNumber: 1, dataRoots: [] }).context(),
    };
    try {
      const result = await fn(ctx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      const keep = err instanceof TributaryError && err.details?.keepWrites === true;
      await client.query(keep ? 'COMMIT' : 'ROLLBACK');
      if (!keep) throw err;
      return err.details?.summary ?? null;
    }
  } finally {
    client.release();
  }
}

/** What the loads would have left: a ledger row per file and run (leads' does not add up), empty audit tables. */
async function seedLoads(database: Database): Promise<void> {
  await database.pool.query(
    `INSERT INTO load_ledger (target, sha256, path, bytes, run_id, task_id, rows_read, rows_loaded, rows_rejected, rows_deduplicated)
     SELECT 'credit_platform.' || t, md5(t || g), t || '_20250513.csv', 1000, g::text, 'load_' || t, 100 + g, 95 + g, 5, (t = 'leads')::int
     FROM unnest($1::text[]) AS t CROSS JOIN generate_series(1, ${RUNS}) g`,
    [CREDIT_TABLES],
  );
  const client = await database.pool.connect();
  try {
    for (const table of CREDIT_TABLES) await ensureAuditTable(client, auditTarget(qualified(table), auditTableOf(table)));
  } finally {
    client.release();
  }
}

async function main(): Promise<void> {
  const services = await startServices({ redis: false });
  const stops: Array<() => Promise<void>> = [services.stop];
  try {
    const database = connect(await freshDatabase(services.databaseUrl, 'bench_checks'), { max: 2 });
    stops.unshift(() => database.close());
    await runMigrations(database);

    log(`generating the W2 tables (${W2_ROWS} rows)`);
    await fillW2Tables(database.pool);
    await seedLoads(database);
    const validateOptions = validateKind.options.parse(CREDIT_CHECKS);
    const reconcileOptions = reconcileKind.options.parse(CREDIT_RECONCILIATIONS);

    const seconds: number[] = [];
    for (let run = 1; run <= RUNS; run += 1) {
      const started = performance.now();
      await asTask(database, String(run), 'quality', (ctx) => validateKind.handler(ctx, validateOptions));
      await asTask(database, String(run), 'reconcile', (ctx) => reconcileKind.handler(ctx, reconcileOptions));
      seconds.push((performance.now() - started) / 1000);
      log(`run ${run}: ${seconds[run - 1].toFixed(3)} s`);
    }

    const perCheck = await database.pool.query<{ name: string; ms: number; failing: number }>(`
      SELECT check_name AS name, duration_ms AS ms, rows_failing AS failing FROM check_results WHERE run_id = 1
      UNION ALL SELECT name, duration_ms, mismatched + left_only + right_only FROM reconcile_results WHERE run_id = 1`);
    const outcomes = await database.pool.query<{ outcome: string; n: number }>(`
      SELECT outcome, count(*)::int AS n FROM (SELECT outcome FROM check_results WHERE run_id = 1
        UNION ALL SELECT outcome FROM reconcile_results WHERE run_id = 1) x GROUP BY outcome ORDER BY outcome`);
    const sorted = [...seconds].sort((a, b) => a - b);
    process.stdout.write(
      `${JSON.stringify({
        rows: W2_ROWS,
        checks: validateOptions.checks.length,
        reconciliations: reconcileOptions.reconciliations.length,
        seconds: Number(seconds[0].toFixed(3)),
        seconds_median: Number(sorted[Math.floor(sorted.length / 2)].toFixed(3)),
        seconds_runs: seconds.map((s) => Number(s.toFixed(3))),
        outcomes: Object.fromEntries(outcomes.rows.map((r) => [r.outcome, r.n])),
        per_check_ms: Object.fromEntries(perCheck.rows.map((r) => [r.name, r.ms])),
        failing: Object.fromEntries(perCheck.rows.filter((r) => r.failing > 0).map((r) => [r.name, r.failing])),
      })}\n`,
    );
  } finally {
    for (const stop of stops) await stop().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
