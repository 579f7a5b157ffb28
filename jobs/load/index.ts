/**
 * `load` job kind: CSV files → a Postgres table at COPY speed, refused rows and applied coercions
 * audited, every row accounted for. Everything runs on ctx.client inside the try's transaction
 * (never BEGIN/COMMIT): rows, audit rows and ledger entries commit with the task's state or not at all.
 * Returns `{ files: FileResult[], rows_read, rows_loaded, rows_rejected, rows_deduplicated, warnings }`;
 * `warnings` has one line per file whose refused rows passed `rejectLimit.warn` (the run shows them).
 */
import fs from 'node:fs/promises';
import { TributaryError } from '../../engine/errors.ts';
import type { JobKind, TaskContext } from '../../engine/types.ts';
import { ensureAuditTable, ensureCoercionTable } from './audit.ts';
import { loadFile, type FileResult, type FileToLoad } from './file-load.ts';
import { hashFile, inLedger, latestInLedger } from './ledger.ts';
import { clearForReplace, ensureTarget, lockPartition } from './modes.ts';
import { loadOptions, type LoadOptions } from './options.ts';
import { compileLoad, type LoadPlan } from './plan.ts';
import { rejectWarning } from './reject-limit.ts';
import { resolveSources, type SourceFile } from './sources.ts';

export { loadOptions, type LoadOptions, type LoadOptionsInput } from './options.ts';
export type { FileResult } from './file-load.ts';

export type LoadResult = {
  files: FileResult[];
  rows_read: number;
  rows_loaded: number;
  rows_rejected: number;
  rows_deduplicated: number;
  /** One line per file whose refused rows passed the warn level of `rejectLimit`. */
  warnings: string[];
};

/** Size and content hash of a file (the cheap pre-check behind the ledger skip). */
async function inspect(source: SourceFile): Promise<FileToLoad> {
  const stat = await fs.stat(source.path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new TributaryError('FILE_NOT_FOUND', `file not found: ${source.path}`);
    throw new TributaryError('FILE_UNREADABLE', `cannot read ${source.path} (${err.code ?? err.message})`, { cause: err });
  });
  if (!stat.isFile()) throw new TributaryError('FILE_UNREADABLE', `${source.path} is not a regular file`);
  if (stat.size === 0) throw new TributaryError('FILE_EMPTY', `${source.path} is empty (0 bytes)`);
  const sha256 = await hashFile(source.path).catch((err: NodeJS.ErrnoException) => {
    throw new TributaryError('FILE_UNREADABLE', `cannot read ${source.path} (${err.code ?? err.message})`, { cause: err });
  });
  return { path: source.path, partition: source.partition, bytes: stat.size, sha256 };
}

function skippedResult(file: FileToLoad): FileResult {
  return {
    path: file.path, ...(file.partition === undefined ? {} : { partition: file.partition }), sha256: file.sha256, bytes: file.bytes,
    rows_read: 0, rows_loaded: 0, rows_rejected: 0, rows_deduplicated: 0, skipped: true, coercions: {},
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
  if (replacing) {
    const latest = force ? new Set<string>() : await latestInLedger(ctx.db, plan.target, partition);
    const wanted = new Set(files.map((f) => f.sha256));
    if (latest.size === wanted.size && [...wanted].every((sha) => latest.has(sha))) {
      ctx.log.info({ target: plan.target, partition }, 'load: the table already holds these files, skipped');
      return files.map(skippedResult);
    }
    const deleted = await clearForReplace(ctx.client, plan, files[0].partition);
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
  return results;
}

export async function runLoad(ctx: TaskContext, options: LoadOptions): Promise<LoadResult> {
  const plan = compileLoad(options);
  const sources = await resolveSources(ctx, options);
  const files: FileToLoad[] = [];
  for (const source of sources) files.push(await inspect(source));
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
    warnings: results.flatMap((r) => rejectWarning(options.rejectLimit, r.path, r.rows_read, r.rows_rejected) ?? []),
  };
  if (result.warnings.length > 0) ctx.log.warn({ warnings: result.warnings }, 'load: refused rows above the warn limit');
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
