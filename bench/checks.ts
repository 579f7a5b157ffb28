/**
 * bench:checks — the whole W2 check + reconciliation suite (bench/w2-suite.ts) on the credit
 * platform's shape at real size (~217k rows, bench/w2-tables.ts), with the indexes the checks
 * declare. Runs the validate and reconcile handlers as the engine would (one transaction each),
 * three times; prints progress to stderr and ONE JSON line on stdout. Goal: under 2 s.
 */
import { pino } from 'pino';
import { drizzle } from 'drizzle-orm/node-postgres';
import { freshDatabase, startServices } from '../test/support/services.ts';
import { connect, type Database } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { TributaryError } from '../engine/errors.ts';
import type { HandlerOutcome, TaskContext } from '../engine/types.ts';
import { validateKind, declaredIndexes, ensureIndexes } from '../jobs/validate/index.ts';
import { reconcileKind } from '../jobs/reconcile/index.ts';
import { W2_RECONCILE, W2_VALIDATE } from './w2-suite.ts';
import { W2_ROWS, createW2Tables } from './w2-tables.ts';

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
      params: {}, upstream: {}, log: pino({ level: 'silent' }), client, db: drizzle(client), signal: new AbortController().signal,
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

async function seedLedger(database: Database): Promise<void> {
  await database.pool.query(`
    INSERT INTO load_ledger (target, sha256, path, bytes, run_id, task_id, rows_read, rows_loaded, rows_rejected, rows_deduplicated)
    SELECT t, md5(t || g), t || '_20250513.csv', 1000, g::text, 'load_' || t, 100 + g, 95 + g, 5, CASE WHEN t = 'leads' THEN 1 ELSE 0 END
    FROM unnest(ARRAY['senior_account_managers','account_managers','sellers','credits','credit_histories','credit_chat',
                      'leads','invoices','invoice_items','wallet_transactions']) AS t
    CROSS JOIN generate_series(1, ${RUNS}) g`);
}

async function main(): Promise<void> {
  const services = await startServices({ redis: false });
  const stops: Array<() => Promise<void>> = [services.stop];
  try {
    const database = connect(await freshDatabase(services.databaseUrl, 'bench_checks'), { max: 2 });
    stops.unshift(() => database.close());
    await runMigrations(database);

    log(`generating the W2 tables (${W2_ROWS} rows)`);
    await createW2Tables(database.pool);
    await seedLedger(database);
    const validateOptions = validateKind.options.parse(W2_VALIDATE);
    const reconcileOptions = reconcileKind.options.parse(W2_RECONCILE);
    const indexClient = await database.pool.connect();
    try {
      const created = await ensureIndexes(indexClient, declaredIndexes(validateOptions));
      await indexClient.query('ANALYZE');
      log(`declared indexes created: ${created.join(', ')}`);
    } finally {
      indexClient.release();
    }

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
