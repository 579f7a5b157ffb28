/**
 * `reconcile` job kind: runs each reconciliation as one statement on ctx.client, stores exact
 * counts (reconcile_results) and the sampled mismatches (reconcile_mismatches). An `error`
 * reconciliation past its threshold throws RECONCILE_FAILED with `keepWrites` (results kept).
 */
import type pg from 'pg';
import { TributaryError } from '../../engine/errors.ts';
import type { JobKind, TaskContext } from '../../engine/types.ts';
import { reconcileMismatches, reconcileResults } from '../../db/schema/quality.ts';
import { reconcileOptions, type ReconcileOptions, type MismatchStatus } from './options.ts';
import { planReconciliations, type ReconcilePlan } from './statement.ts';
import { countOutcomes, decideOutcome, type Outcome } from '../sql/outcome.ts';
import { contextResolver, preflightResolver } from '../sql/named-params.ts';
import { explainStatement, runStatement } from '../sql/verify.ts';
import { onDataClient, onPreflightClient } from '../sql/data-client.ts';

export { reconcileOptions, type ReconcileOptions } from './options.ts';

interface Counts {
  keys_total: number;
  matched: number;
  mismatched: number;
  left_only: number;
  right_only: number;
}

interface Mismatch {
  status: MismatchStatus;
  key: Record<string, string | number | boolean | null>;
  left: string | null;
  right: string | null;
  difference: string | null;
}

interface RecRun {
  plan: ReconcilePlan;
  counts: Counts;
  failing: number;
  outcome: Outcome;
  sample: Mismatch[];
  durationMs: number;
}

export const reconcileKind: JobKind<ReconcileOptions> = {
  name: 'reconcile',
  options: reconcileOptions,
  async preflight(options, { client }) {
    await onPreflightClient(client, options.connection, async (on) => {
      const plans = await planReconciliations(on, options.reconciliations, preflightResolver(), options.sampleLimit);
      for (const plan of plans) await explainStatement(on, plan.text, plan.values, plan.user);
    });
  },
  handler: runReconcile,
};

async function runReconcile(ctx: TaskContext, options: ReconcileOptions) {
  // Both sides are read on the data's database (a connection's, in a transaction of its own); the
  // results are stored with the run, in the try's transaction.
  const runs = await onDataClient(ctx, options.connection, (client) => reconcile(ctx, client, options));
  for (const run of runs) await store(ctx, run);
  const summary = {
    reconciliations: runs.length,
    outcomes: countOutcomes(runs.map((r) => r.outcome)),
    failed: runs.filter((r) => r.outcome === 'fail').map((r) => r.plan.rec.name),
    warned: runs.filter((r) => r.outcome === 'warn').map((r) => r.plan.rec.name),
    results: runs.map((r) => ({ name: r.plan.rec.name, outcome: r.outcome, ...r.counts })),
  };
  ctx.log.info({ outcomes: summary.outcomes }, 'reconciliations done');
  const failed = runs.filter((r) => r.outcome === 'fail');
  if (failed.length > 0) {
    const list = failed.map(
      (r) => `${r.plan.rec.name} (${r.counts.mismatched} mismatched, ${r.counts.left_only} left only, ${r.counts.right_only} right only of ${r.counts.keys_total} keys)`,
    );
    throw new TributaryError(
      'RECONCILE_FAILED',
      `task "${ctx.taskId}": ${failed.length} error reconciliation(s) failed: ${list.join(', ')}`,
      { details: { keepWrites: true, summary } },
    );
  }
  return summary;
}

/** Runs each reconciliation's statement on `client`. */
async function reconcile(ctx: TaskContext, client: pg.PoolClient, options: ReconcileOptions): Promise<RecRun[]> {
  const plans = await planReconciliations(client, options.reconciliations, contextResolver(ctx), options.sampleLimit);
  for (const plan of plans) await explainStatement(client, plan.text, plan.values, plan.user);
  const runs: RecRun[] = [];
  for (const plan of plans) {
    ctx.signal.throwIfAborted();
    const started = performance.now();
    const { rows } = await runStatement<Counts & { sample: Mismatch[] }>(client, plan.text, plan.values, plan.user);
    const durationMs = Math.round(performance.now() - started);
    const row = rows[0];
    const counts: Counts = {
      keys_total: Number(row.keys_total),
      matched: Number(row.matched),
      mismatched: Number(row.mismatched),
      left_only: Number(row.left_only),
      right_only: Number(row.right_only),
    };
    const failing = plan.rec.failOn.reduce((sum, status) => sum + counts[status], 0);
    const outcome = decideOutcome(plan.rec.severity, plan.rec.thresholds, failing, counts.keys_total);
    runs.push({ plan, counts, failing, outcome, sample: row.sample, durationMs });
    ctx.log.debug({ reconciliation: plan.rec.name, outcome, ...counts, durationMs }, 'reconciliation done');
  }
  return runs;
}

async function store(ctx: TaskContext, run: RecRun): Promise<void> {
  const { rec } = run.plan;
  const [saved] = await ctx.db
    .insert(reconcileResults)
    .values({
      runId: Number(ctx.runId),
      taskId: ctx.taskId,
      tryNumber: ctx.tryNumber,
      name: rec.name,
      leftSource: run.plan.leftSource,
      rightSource: run.plan.rightSource,
      severity: rec.severity,
      keysTotal: run.counts.keys_total,
      matched: run.counts.matched,
      mismatched: run.counts.mismatched,
      leftOnly: run.counts.left_only,
      rightOnly: run.counts.right_only,
      outcome: run.outcome,
      tolerance: rec.tolerance,
      thresholds: rec.thresholds,
      durationMs: run.durationMs,
    })
    .returning({ id: reconcileResults.id });
  if (run.sample.length === 0) return;
  await ctx.db.insert(reconcileMismatches).values(
    run.sample.map((m) => ({
      resultId: saved.id,
      runId: Number(ctx.runId),
      taskId: ctx.taskId,
      name: rec.name,
      status: m.status,
      key: m.key,
      leftValue: m.left,
      rightValue: m.right,
      difference: m.difference,
    })),
  );
}
