/**
 * `extract` job kind: HTTP JSON pages → cleaned, validated records → the load job's upsert path,
 * with refusals and coercions audited, changes and reversals historied and the watermark moved, all
 * on the try's transaction (never BEGIN/COMMIT): a failed try commits none of it. Returns `ExtractResult`.
 */
import { TributaryError } from '../../engine/errors.ts';
import type { JobKind, TaskContext } from '../../engine/types.ts';
import { coercionTarget, ensureAuditTable, ensureCoercionTable } from '../load/audit.ts';
import { CoercionLog } from '../load/coercions.ts';
import { copyDestination, dropStagedDuplicates, ensureTarget, insertStaged } from '../load/modes.ts';
import { compileLoad, type LoadPlan } from '../load/plan.ts';
import { RecordCleaner } from './clean.ts';
import { countNew, ensureHistoryTable, historyTarget, recordReversals, recordUpdates, type HistoryTarget } from './history.ts';
import { showUrl } from './http.ts';
import { extractOptions, type ExtractOptions } from './options.ts';
import { endpointOf, walkPages } from './source.ts';
import { StagedRecords } from './stage.ts';
import { nextWatermark, readWatermark, saveWatermark } from './watermark.ts';

export { extractOptions, type ExtractOptions, type ExtractOptionsInput } from './options.ts';

export type ExtractResult = {
  pages: number;
  requests: number;
  retries: number;
  waited_ms: number;
  rows_read: number;
  rows_loaded: number;
  rows_inserted: number;
  rows_updated: number;
  rows_unchanged: number;
  rows_rejected: number;
  rows_deduplicated: number;
  reversals: number;
  watermark: { column: string; before: string | null; after: string | null } | null;
  coercions: Record<string, number>;
};

/**
 * The coercion audit of this extract (the column coercions and the cleaner's), rows keyed by the
 * endpoint URL and the record's ordinal; null when no coercion is declared.
 */
async function coercionAudit(ctx: TaskContext, plan: LoadPlan, cleaner: RecordCleaner, endpoint: URL): Promise<CoercionLog | null> {
  const target = plan.coercions ?? (cleaner.coerces ? coercionTarget(plan.audit) : null);
  if (target === null) return null;
  await ensureCoercionTable(ctx.client, target);
  const log = new CoercionLog(ctx.client, target, { runId: ctx.runId, taskId: ctx.taskId, mapIndex: ctx.mapIndex, file: showUrl(endpoint) });
  plan.columns.recorder = log.record;
  cleaner.recorder = log.record;
  return log;
}

/** History rows first: they compare the staged rows with the rows as stored before the upsert. */
async function recordHistory(ctx: TaskContext, plan: LoadPlan, history: HistoryTarget, options: ExtractOptions) {
  const scope = { runId: ctx.runId, taskId: ctx.taskId };
  const inserted = await countNew(ctx.client, plan);
  const updated = await recordUpdates(ctx.client, plan, history, scope);
  const reversals = options.reversal ? await recordReversals(ctx.client, plan, history, options.reversal.column, scope) : 0;
  return { inserted, updated, reversals };
}

/** Applied coercions of the loaded records: cleaner's and columns', less those of dropped duplicates. */
function coercionCounts(cleaner: RecordCleaner, plan: LoadPlan, dropped: Map<string, number>): Record<string, number> {
  const counts = new Map(cleaner.applied);
  for (const [key, n] of Object.entries(plan.columns.takeCoercions())) counts.set(key, (counts.get(key) ?? 0) + n);
  for (const [key, n] of dropped) counts.set(key, (counts.get(key) ?? 0) - n);
  return Object.fromEntries([...counts].filter(([, n]) => n > 0));
}

export async function runExtract(ctx: TaskContext, options: ExtractOptions): Promise<ExtractResult> {
  const plan = compileLoad(options.load);
  const history = historyTarget(options.target, options.history);
  const endpoint = endpointOf(options, ctx);
  const task = { dagId: ctx.dagId, taskId: ctx.taskId };
  // Two runs of this task wait for each other: the second resumes from the first one's watermark.
  await ctx.client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tributary.extract.${ctx.dagId}.${ctx.taskId}`]);
  await ensureTarget(ctx.client, plan);
  await ensureAuditTable(ctx.client, plan.audit);
  await ensureHistoryTable(ctx.client, history);
  const cleaner = new RecordCleaner(plan.specs, options.defaults, options.timestampFormats);
  const coercions = await coercionAudit(ctx, plan, cleaner, endpoint.url);
  const mark = options.watermark;
  const before = mark ? ((await readWatermark(ctx.db, task, mark.column)) ?? mark.initial ?? null) : null;
  const staged = new StagedRecords(ctx, plan, cleaner, await copyDestination(ctx.client, plan), coercions);
  const walked = await walkPages(ctx, options, endpoint, before, (records, where) => staged.add(records, where));

  const { inserted, updated, reversals } = await recordHistory(ctx, plan, history, options);
  const spec = mark && plan.specs.find((c) => c.name === mark.column);
  const after = spec ? await nextWatermark(ctx.client, spec, before) : null;
  await dropStagedDuplicates(ctx.client, plan);
  const dropped = coercions ? await coercions.dropUnloaded(plan) : new Map<string, number>();
  const loaded = await insertStaged(ctx.client, plan);
  if (spec && after !== null) await saveWatermark(ctx.db, task, spec.name, after, ctx.runId);

  const result: ExtractResult = {
    pages: walked.pages, requests: walked.requests, retries: walked.retries, waited_ms: walked.waitedMs,
    rows_read: staged.read, rows_loaded: loaded, rows_inserted: inserted, rows_updated: updated,
    rows_unchanged: loaded - inserted - updated, rows_rejected: staged.rejected,
    rows_deduplicated: staged.deduplicated + staged.copied - loaded, reversals,
    watermark: spec ? { column: spec.name, before, after } : null,
    coercions: coercionCounts(cleaner, plan, dropped),
  };
  if (staged.copied !== staged.valid || result.rows_unchanged < 0) {
    throw new TributaryError('ACCOUNTING_MISMATCH', `extract into ${plan.target}: rows do not add up (${JSON.stringify(result)})`);
  }
  ctx.log.info({ ...result, coercions: undefined }, 'extract: done');
  return result;
}

export const extractKind: JobKind<ExtractOptions> = {
  name: 'extract',
  options: extractOptions,
  handler: (ctx, options) => runExtract(ctx, options),
};
