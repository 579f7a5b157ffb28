/**
 * `load` job kind: CSV files → a Postgres table at COPY speed, refused rows and applied coercions
 * audited, every row accounted for. Everything runs on ctx.client inside the try's transaction
 * (never BEGIN/COMMIT): rows, audit rows and ledger entries commit with the task's state or not at all.
 * With `connection` (a warehouse), they commit on that database exactly once instead (warehouse.ts).
 * Returns `{ files: FileResult[], rows_read, rows_loaded, rows_rejected, rows_deduplicated, warnings }`;
 * `warnings`: per file, a line when its refused rows passed `rejectLimit.warn`, and one naming the
 * refused records that span several lines (the run shows them).
 */
import { TributaryError } from '../../engine/errors.ts';
import type { JobKind, TaskContext } from '../../engine/types.ts';
import { ensureAuditTable, ensureCoercionTable } from './audit.ts';
import { loadFile, type FileResult } from './file-load.ts';
import { inLedger, latestInLedger } from './ledger.ts';
import { clearForReplace, ensureTarget, lockPartition } from './modes.ts';
import { loadOptions, type LoadOptions } from './options.ts';
import { compileLoad, type LoadPlan } from './plan.ts';
import { rejectWarnings } from './reject-limit.ts';
import { closeSources, openSource, type FileToLoad } from './source-file.ts';
import { resolveSources } from './sources.ts';
import { loadIntoWarehouse } from './warehouse.ts';

export { loadOptions, type LoadOptions, type LoadOptionsInput } from './options.ts';
export type { FileResult } from './file-load.ts';

export type LoadResult = {
  files: FileResult[];
  rows_read: number;
  rows_loaded: number;
  rows_rejected: number;
  rows_deduplicated: number;
  /** Per file: its refused rows past `rejectLimit.warn`, and its refused records spanning several lines. */
  warnings: string[];
};

/** A file with rows Postgres refused though the columns accept them: said in the run's warnings. */
function postgresWarning(r: FileResult): string[] {
  const lines = r.postgres_refused;
  if (lines.length === 0) return [];
  const shown = lines.slice(0, 10).join(', ') + (lines.length > 10 ? ', …' : '');
  return [`${r.path}: Postgres refused ${lines.length} row(s) the declared columns accept (lines ${shown}; rule 'postgres' in the audit table) — declare the column's limits or check the table's own constraints`];
}

function skippedResult(file: FileToLoad): FileResult {
  return {
    path: file.path, ...(file.partition === undefined ? {} : { partition: file.partition }), sha256: file.sha256, bytes: file.bytes,
    rows_read: 0, rows_loaded: 0, rows_rejected: 0, rows_deduplicated: 0, skipped: true, coercions: {}, postgres_refused: [],
    lines_read: 0, lines_rejected: 0, multiline_rejects: { count: 0, lines: 0, ranges: [] },
  };
}

/**
 * Files grouped by partition value. In replace modes a group is all-or-nothing: skipped only when
 * the partition's latest load was exactly these files, else cleared once and every file loaded.
 */
async function loadGroup(ctx: TaskContext, plan: LoadPlan, partition: string, files: FileToLoad[]): Promise<FileResult[]> {
  await lockPartition(ctx.client, plan, partition);
  const force = plan.options.force;
  const replacing = plan.options.mode === 'replace' || plan.options.mode === 'replace-partition';
  let deleted = 0;
  if (replacing) {
    const latest = force ? new Set<string>() : await latestInLedger(ctx.db, plan.target, partition);
    const wanted = new Set(files.map((f) => f.sha256));
    if (latest.size === wanted.size && [...wanted].every((sha) => latest.has(sha))) {
      ctx.log.info({ target: plan.target, partition }, 'load: the table already holds these files, skipped');
      return files.map(skippedResult);
    }
    deleted = await clearForReplace(ctx.client, plan, files[0].partition);
    ctx.log.info({ target: plan.target, partition, deleted }, 'load: cleared for replace');
  }
  const results: FileResult[] = [];
  for (const file of files) {
    if (!replacing && !force && (await inLedger(ctx.db, plan.target, partition, file.sha256))) {
      ctx.log.info({ path: file.path, sha256: file.sha256 }, 'load: file already in the ledger, skipped');
      results.push(skippedResult(file));
      continue;
    }
    const started = Date.now();
    const result = await loadFile(ctx, plan, file);
    ctx.log.info({ ...result, coercions: undefined, ms: Date.now() - started }, 'load: file loaded');
    results.push(result);
  }
  const loaded = results.reduce((n, r) => n + r.rows_loaded, 0);
  if (deleted > 0 && loaded === 0 && !plan.options.allowEmpty) {
    const what = plan.options.mode === 'replace' ? plan.target : `partition ${partition} of ${plan.target}`;
    throw new TributaryError('LOAD_EMPTY',
      `replacing ${what} would delete its ${deleted} rows and load none (${files.map((f) => f.path).join(', ')}); nothing changed — set allowEmpty: true if an empty ${plan.options.mode === 'replace' ? 'table' : 'partition'} is right`);
  }
  return results;
}

export async function runLoad(ctx: TaskContext, options: LoadOptions): Promise<LoadResult> {
  if (options.connection === undefined) return loadSources(ctx, options);
  return loadIntoWarehouse(ctx, options.connection, (warehouse) => loadSources(warehouse, options));
}

async function loadSources(ctx: TaskContext, options: LoadOptions): Promise<LoadResult> {
  const sources = await resolveSources(ctx, options);
  const files: FileToLoad[] = [];
  try {
    for (const source of sources) files.push(await openSource(ctx, source, options));
    return await loadFiles(ctx, options, files);
  } finally {
    await closeSources(files);
  }
}

async function loadFiles(ctx: TaskContext, options: LoadOptions, files: FileToLoad[]): Promise<LoadResult> {
  const plan = compileLoad(options);
  await ensureTarget(ctx.client, plan);
  await ensureAuditTable(ctx.client, plan.audit);
  if (plan.coercions) await ensureCoercionTable(ctx.client, plan.coercions);
  const groups = new Map<string, FileToLoad[]>();
  for (const f of files) groups.set(f.partition ?? '', [...(groups.get(f.partition ?? '') ?? []), f]);
  const byPath = new Map<FileToLoad, FileResult>();
  for (const [partition, group] of groups) {
    const results = await loadGroup(ctx, plan, partition, group);
    group.forEach((f, i) => byPath.set(f, results[i]));
  }
  const results = files.map((f) => byPath.get(f) as FileResult);
  const total = (key: 'rows_read' | 'rows_loaded' | 'rows_rejected' | 'rows_deduplicated') => results.reduce((s, r) => s + r[key], 0);
  const result: LoadResult = {
    files: results,
    rows_read: total('rows_read'),
    rows_loaded: total('rows_loaded'),
    rows_rejected: total('rows_rejected'),
    rows_deduplicated: total('rows_deduplicated'),
    warnings: results.flatMap((r) => [...rejectWarnings(options.rejectLimit, r), ...postgresWarning(r)]),
  };
  if (result.warnings.length > 0) ctx.log.warn({ warnings: result.warnings }, 'load: refused rows above the warn limit, refused records spanning several lines, or rows Postgres refused');
  if (result.rows_read !== result.rows_loaded + result.rows_rejected + result.rows_deduplicated) {
    throw new TributaryError('ACCOUNTING_MISMATCH', `load into ${plan.target}: totals do not add up (${JSON.stringify(result)})`);
  }
  return result;
}

export const loadKind: JobKind<LoadOptions> = {
  name: 'load',
  options: loadOptions,
  handler: (ctx, options) => runLoad(ctx, options),
};
