/**
 * `validate` job kind: runs declared checks (one set-based statement each) on ctx.client, stores
 * every result and the per-table scorecards, returns counts per outcome. An `error` check past
 * its threshold throws CHECK_FAILED with `keepWrites` so the engine commits the stored results.
 */
import type pg from 'pg';
import { TributaryError } from '../../engine/errors.ts';
import type { JobKind, TaskContext } from '../../engine/types.ts';
import { checkResults, qualityScorecards } from '../../db/schema/quality.ts';
import { validateOptions, type ValidateOptions } from './options.ts';
import { prepareChecks, type CheckPlan } from './prepare.ts';
import { CREATE_FAILING_ROWS } from './row-checks.ts';
import { computeScorecards, type Scorecard } from './scorecard.ts';
import { declaredIndexes, ensureIndexes } from './indexes.ts';
import type { Measured } from './table-checks.ts';
import { countOutcomes, decideOutcome, type Outcome } from '../sql/outcome.ts';
import { contextResolver, preflightResolver } from '../sql/named-params.ts';
import { runStatement } from '../sql/verify.ts';
import { onDataClient, onPreflightClient } from '../sql/data-client.ts';
import type { TableInfo } from '../sql/catalog.ts';

export { validateOptions, type ValidateOptions } from './options.ts';
export { declaredIndexes, ensureIndexes } from './indexes.ts';

interface CheckRun {
  plan: CheckPlan;
  measured: Measured;
  outcome: Outcome;
  durationMs: number;
}

export const validateKind: JobKind<ValidateOptions> = {
  name: 'validate',
  options: validateOptions,
  async preflight(options, { client }) {
    await onPreflightClient(client, options.connection, (on) => prepareChecks(on, options, { resolve: preflightResolver(), explain: true, mark: false }));
  },
  handler: runValidate,
};

async function runValidate(ctx: TaskContext, options: ValidateOptions) {
  // The checks read on the data's database (a connection's, in a transaction of its own); their
  // results are stored with the run, in the try's transaction.
  const { runs, scorecards } = await onDataClient(ctx, options.connection, (client) => runChecks(ctx, client, options));
  await storeResults(ctx, runs);
  await storeScorecards(ctx, scorecards);
  const summary = summarise(runs, scorecards);
  ctx.log.info({ outcomes: summary.outcomes }, 'checks done');
  const failed = runs.filter((r) => r.outcome === 'fail');
  if (failed.length > 0) {
    const list = failed.map((r) => `${r.plan.check.name} on ${r.plan.check.table} (${r.measured.failing} of ${r.measured.evaluated} rows failing)`);
    throw new TributaryError(
      'CHECK_FAILED',
      `task "${ctx.taskId}": ${failed.length} error check(s) failed: ${list.join(', ')}`,
      { details: { keepWrites: true, summary } },
    );
  }
  return summary;
}

async function runChecks(ctx: TaskContext, client: pg.PoolClient, options: ValidateOptions): Promise<{ runs: CheckRun[]; scorecards: Scorecard[] }> {
  if (options.scorecard) {
    await client.query(CREATE_FAILING_ROWS);
    await client.query('TRUNCATE trib_failing_rows');
  }
  const plans = await prepareChecks(client, options, { resolve: contextResolver(ctx), explain: true, mark: true });
  if (options.ensureIndexes) {
    const created = await ensureIndexes(client, declaredIndexes(options));
    if (created.length > 0) ctx.log.info({ indexes: created }, 'created declared indexes');
  }
  const runs: CheckRun[] = [];
  for (const plan of plans) {
    ctx.signal.throwIfAborted();
    const started = performance.now();
    const { rows } = await runStatement(client, plan.text, plan.values, plan.user);
    const measured = plan.measure(rows[0]);
    const durationMs = Math.round(performance.now() - started);
    const outcome = decideOutcome(plan.check.severity, plan.check.thresholds, measured.failing, measured.evaluated);
    runs.push({ plan, measured, outcome, durationMs });
    ctx.log.debug({ check: plan.check.name, outcome, failing: measured.failing, durationMs }, 'check done');
  }
  const scorecards = options.scorecard ? await computeScorecards(client, ctx.runId, scorecardTables(plans)) : [];
  return { runs, scorecards };
}

function scorecardTables(plans: readonly CheckPlan[]): Array<{ info: TableInfo; checks: string[] }> {
  const byTable = new Map<string, { info: TableInfo; checks: string[] }>();
  for (const plan of plans) {
    if (plan.scorecardTable === undefined) continue;
    const entry = byTable.get(plan.scorecardTable) ?? { info: plan.table, checks: [] };
    entry.checks.push(plan.check.name);
    byTable.set(plan.scorecardTable, entry);
  }
  return [...byTable.values()];
}

async function storeResults(ctx: TaskContext, runs: readonly CheckRun[]): Promise<void> {
  if (runs.length === 0) return;
  await ctx.db.insert(checkResults).values(
    runs.map(({ plan, measured, outcome, durationMs }) => ({
      runId: Number(ctx.runId),
      taskId: ctx.taskId,
      tryNumber: ctx.tryNumber,
      checkName: plan.check.name,
      checkKind: plan.check.kind,
      tableName: plan.check.table,
      severity: plan.check.severity,
      rowsEvaluated: measured.evaluated,
      rowsFailing: measured.failing,
      outcome,
      thresholds: plan.check.thresholds,
      sampleKeys: measured.sampleKeys,
      sampleRows: measured.sampleRows,
      durationMs,
    })),
  );
}

async function storeScorecards(ctx: TaskContext, cards: readonly Scorecard[]): Promise<void> {
  if (cards.length === 0) return;
  await ctx.db.insert(qualityScorecards).values(
    cards.map((c) => ({
      runId: Number(ctx.runId),
      taskId: ctx.taskId,
      tryNumber: ctx.tryNumber,
      tableName: c.table,
      totalRows: c.total_rows,
      cleanRows: c.clean_rows,
      rowsWithIssues: c.rows_with_issues,
      score: c.score.toFixed(2),
      checks: c.checks,
    })),
  );
}

function summarise(runs: readonly CheckRun[], scorecards: Scorecard[]) {
  return {
    checks: runs.length,
    outcomes: countOutcomes(runs.map((r) => r.outcome)),
    failed: runs.filter((r) => r.outcome === 'fail').map((r) => r.plan.check.name),
    warned: runs.filter((r) => r.outcome === 'warn').map((r) => r.plan.check.name),
    results: runs.map((r) => ({
      name: r.plan.check.name,
      kind: r.plan.check.kind,
      table: r.plan.check.table,
      severity: r.plan.check.severity,
      outcome: r.outcome,
      rows_evaluated: r.measured.evaluated,
      rows_failing: r.measured.failing,
    })),
    scorecards,
  };
}
