/**
 * Loads one file on the task's transaction, inside a savepoint: the file's open handle (hashed) →
 * decodeChunks (gzip/zstd, encodings) → CsvReader → RowValidator → COPY text into the target (or
 * staging, then merged), refused rows and applied coercions batched into the audit tables, then the
 * accounting check (read = loaded + rejected + deduplicated), the file-unchanged check and the ledger
 * entry. Throws (nothing to commit) on file-level errors, the reject limit, or any database error
 * other than a value COPY refused on a line it names (that line is refused and the file read again). A
 * quoted field left open at the end of the file fails it (FILE_UNTERMINATED_QUOTE): where that
 * record was meant to end cannot be known, and refusing the rest as one row would hide its lines.
 */
import { createHash, type Hash } from 'node:crypto';
import { TributaryError } from '../../engine/errors.ts';
import type { TaskContext } from '../../engine/types.ts';
import { insertAuditRows, type AuditContext, type AuditRow } from './audit.ts';
import { CoercionLog } from './coercions.ts';
import { CopyWriter } from './copy-writer.ts';
import { CsvReader, type MalformedRule, type RecordSink } from './csv-reader.ts';
import { recordInLedger } from './ledger.ts';
import { checkRefused, checkRejectLimit, MULTILINE_RANGES, type RefusedCounts } from './reject-limit.ts';
import { copyDestination } from './modes.ts';
import { decodeChunks } from './decode.ts';
import { LINE_COLUMN, type LoadPlan } from './plan.ts';
import { headerMapping } from './header.ts';
import { checkUnchanged, readChunks, type FileToLoad } from './source-file.ts';
import { StagingMerge } from './staging-merge.ts';
import { detach, DUPLICATE, partitionSuffix, RowValidator, type ColumnError } from './validator.ts';

export type FileResult = RefusedCounts & {
  path: string;
  /** The partition value the file was loaded into (replace-partition), when there is one. */
  partition?: string;
  sha256: string;
  bytes: number;
  rows_read: number;
  rows_loaded: number;
  rows_rejected: number;
  rows_deduplicated: number;
  skipped: boolean;
  coercions: Record<string, number>;
  /** Lines refused because Postgres refused a value the columns accept (rule `postgres`, first 10 listed). */
  postgres_refused: number[];
};

export type { FileToLoad } from './source-file.ts';

/** A value COPY refused that the validator accepted: refused on its line when the file is read again. */
export interface PostgresRefusal {
  line: number;
  column: string | null;
  code: string;
  message: string;
}

/** Re-reads of one file for values Postgres refused, before the file fails as a whole. */
const MAX_POSTGRES_REFUSALS = 50;
/** COPY text the reader may queue while a staging segment merges, before it waits for the merge. */
const MAX_QUEUED_BYTES = 32 << 20;

const visible = (s: string) => (s.indexOf('\0') === -1 ? s : s.replace(/\0/g, '\u2400'));

/** Streaming state of one file; also the CSV reader's sink. */
class FileLoad implements RecordSink {
  read = 0;
  rejected = 0;
  /** Lines spanned by the data records read, and by those refused (see RefusedCounts). */
  lines = 0;
  linesRejected = 0;
  readonly multiline: RefusedCounts['multiline_rejects'] = { count: 0, lines: 0, ranges: [] };
  deduplicated = 0;
  valid = 0;
  copied = 0;
  /** The first refused row, for a message when every row is refused. */
  firstRefusal: string | null = null;
  private headers: string[] | null = null;
  private validator: RowValidator | null = null;
  private batch: string[] = [];
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** `valid` when the current staging segment began. */
  private segmentStart = 0;
  private rejects: AuditRow[] = [];
  /** File line of every row sent to the open COPY, in order (COPY's "line N" is copyLines[N - 1]). */
  private copyLines: number[] = [];
  private copy: CopyWriter | null = null;
  private destination: { table: string; columns: string[] } | null = null;
  private readonly audit: AuditContext;
  /** Applied coercions of accepted rows; null when no column declares a coercion. */
  private readonly coercions: CoercionLog | null;
  /** Staging → target; null when rows are COPYed straight into the target. */
  readonly merge: StagingMerge | null;

  constructor(
    private readonly ctx: TaskContext,
    private readonly plan: LoadPlan,
    private readonly file: FileToLoad,
    private readonly refusedByPostgres: ReadonlyMap<number, PostgresRefusal>,
  ) {
    this.audit = { runId: ctx.runId, taskId: ctx.taskId, mapIndex: ctx.mapIndex, file: file.path };
    this.coercions = plan.coercions && new CoercionLog(ctx.client, plan.coercions, this.audit);
    plan.columns.recorder = this.coercions?.record ?? null;
    this.merge = plan.staging ? new StagingMerge(ctx.client, plan, this.coercions) : null;
    if (!plan.options.csv.header) this.start(plan.specs.map((c) => c.header ?? c.name), plan.specs.map((_, i) => i));
  }

  private start(headers: string[], fileIndex: number[]): void {
    this.headers = headers;
    const { delimiter } = this.plan.dialect;
    const suffix = partitionSuffix(this.plan.partitionColumn ? this.file.partition : undefined, delimiter, this.plan.columns.escape);
    this.validator = new RowValidator(this.plan.columns, fileIndex, headers, suffix, this.plan.staging, delimiter);
  }

  record(line: number, lastLine: number, raw: string, parsed: string[] | null, quoted: boolean[] | null, clean: boolean): void {
    const validator = this.validator;
    if (validator === null) {
      const { headers, fileIndex } = headerMapping(this.plan, parsed ?? raw.split(this.plan.dialect.delimiter), this.file.path);
      return this.start(headers, fileIndex);
    }
    this.read++;
    this.lines += lastLine - line + 1;
    if (clean) {
      const asRead = validator.checkRaw(raw, line);
      if (asRead !== null) return this.accept(line, lastLine, raw, asRead);
    }
    const fields = parsed ?? raw.split(this.plan.dialect.delimiter);
    const headers = this.headers as string[];
    if (fields.length !== headers.length) {
      const lines = lastLine > line ? ` (lines ${line}–${lastLine})` : '';
      const message = `wrong number of fields: expected ${headers.length}, found ${fields.length}${lines}`;
      return this.reject(line, raw, fields, [{ column: null, rule: 'field_count', message, value: null }], message, lastLine);
    }
    const out = validator.check(fields, line, clean ? raw : null, quoted);
    if (typeof out === 'string') this.accept(line, lastLine, raw, out);
    else if (out === DUPLICATE) this.deduplicated++;
    else this.reject(line, raw, fields, validator.errors, summary(validator.errors), lastLine);
  }

  malformed(line: number, lastLine: number, raw: string, fields: string[] | null, rule: MalformedRule, message: string): void {
    // A field open at the end of the file (never closed, or a quote followed by text and no later
    // quote) holds every line to the end: where its record was meant to end is unknowable.
    if (rule === 'unterminated_quote') {
      throw new TributaryError('FILE_UNTERMINATED_QUOTE', `${this.file.path}: ${message}; nothing loaded — the file may be cut short, or its quoting broken there`);
    }
    if (this.validator === null) {
      throw new TributaryError('FILE_HEADER_MISMATCH', `${this.file.path}: the header line is malformed (${message})`);
    }
    this.read++;
    this.lines += lastLine - line + 1;
    this.reject(line, raw, fields, [{ column: null, rule, message, value: null }], message, lastLine);
  }

  /** A valid row's COPY text into the batch, unless Postgres refused this line on an earlier read. */
  private accept(line: number, lastLine: number, raw: string, copyText: string): void {
    const refusal = this.refusedByPostgres.get(line);
    if (refusal !== undefined) {
      const message = `Postgres refused it: ${refusal.message} (${refusal.code})`;
      return this.reject(line, raw, null, [{ column: refusal.column, rule: 'postgres', message, value: null }], message, lastLine);
    }
    this.valid++;
    this.batch.push(copyText);
    this.copyLines.push(line);
  }

  /** The file line of the row COPY names in a refusal, if `err` is one the load can refuse per row. */
  postgresRefusal(err: unknown): PostgresRefusal | null {
    const pg = err as { code?: unknown; where?: unknown; message?: string };
    if (typeof pg.code !== 'string' || !/^(22|23502|23514)/.test(pg.code) || typeof pg.where !== 'string') return null;
    const at = /\bCOPY [^\n]*?, line (\d+)(?:, column ([^:\n]+))?/.exec(pg.where);
    const line = at ? this.copyLines[Number(at[1]) - 1] : undefined;
    if (at === null || line === undefined) return null;
    const column = at[2] ?? null;
    return { line, column: column === LINE_COLUMN ? null : column, code: pg.code, message: pg.message ?? pg.code };
  }

  /** Refuses the record on lines `line`..`lastLine`: every line it spans counts against the reject limit. */
  private reject(
    line: number, raw: string, fields: string[] | null, errors: Array<ColumnError | { column: null; rule: string; message: string; value: null }>,
    reason: string, lastLine = line,
  ): void {
    this.rejected++;
    const span = lastLine - line + 1;
    this.linesRejected += span;
    if (span > 1) {
      this.multiline.count++;
      this.multiline.lines += span;
      if (this.multiline.ranges.length < MULTILINE_RANGES) this.multiline.ranges.push([line, lastLine]);
    }
    this.firstRefusal ??= `line ${line}: ${visible(reason)}`;
    let record: string | null = null;
    if (fields !== null) {
      const obj: Record<string, string> = {};
      const headers = this.headers as string[];
      fields.forEach((f, i) => (obj[headers[i] ?? `field_${i + 1}`] = visible(f)));
      record = JSON.stringify(obj);
    }
    const json = JSON.stringify(errors, (_, v: unknown) => (typeof v === 'string' ? visible(v) : v));
    this.rejects.push({ line, raw: detach(visible(raw)), record, errors: json, reason: visible(reason) });
    checkRefused(this.plan.options.rejectLimit, this.file.path, { rows: this.rejected, lines: this.linesRejected }, line, lastLine, visible(reason));
  }

  /**
   * Queues the batch's COPY text and sends the queue to COPY — unless a staging segment is being
   * merged: then the reader reads on, up to MAX_QUEUED_BYTES or `auditBatchRows` audit rows. At
   * that many audit rows, a full segment or the end, the COPY is ended to write the audit rows; a
   * full segment is then merged.
   */
  async flush(final: boolean): Promise<void> {
    if (this.batch.length > 0) {
      this.batch.push('');
      const data = Buffer.from(this.batch.join('\n'), 'utf8');
      this.batch = [];
      this.queued.push(data);
      this.queuedBytes += data.length;
    }
    const auditDue = this.rejects.length + (this.coercions?.buffered ?? 0) >= this.plan.options.auditBatchRows;
    if (this.merge?.busy && !final && !auditDue && this.queuedBytes < MAX_QUEUED_BYTES) return;
    await this.merge?.wait();
    await this.sendQueued();
    const segmentFull = this.plan.mergeInSegments && !final && this.valid - this.segmentStart >= this.plan.options.mergeSegmentRows;
    if (final || segmentFull || auditDue) {
      if (this.copy !== null) {
        this.copied += await this.copy.finish();
        this.copy = null;
        this.copyLines = [];
      }
      const rows = this.rejects;
      this.rejects = [];
      await insertAuditRows(this.ctx.client, this.plan.audit, this.audit, rows);
      await this.coercions?.flush();
    }
    if (segmentFull && this.destination !== null) {
      this.segmentStart = this.valid;
      this.merge?.start();
    }
  }

  private async sendQueued(): Promise<void> {
    if (this.queued.length === 0) return;
    if (this.copy === null) {
      this.destination ??= await copyDestination(this.ctx.client, this.plan);
      this.copy = CopyWriter.open(this.ctx.client, this.destination.table, this.destination.columns, this.plan.dialect);
    }
    for (const data of this.queued) await this.copy.write(data);
    this.queued = [];
    this.queuedBytes = 0;
  }

  abort(err: Error): void {
    this.copy?.abort(err);
  }

  get sawHeader(): boolean {
    return this.validator !== null;
  }

  get usedStaging(): boolean {
    return this.destination !== null && this.plan.staging;
  }
}

function summary(errors: ColumnError[]): string {
  if (errors.length === 1) return errors[0].message;
  return `${errors.length} columns failed: ${errors.map((e) => `${e.column} (${e.rule})`).join(', ')}`;
}

/** The raw chunks, each added to `hash` on the way (the ledger hashes the file's own bytes). */
async function* hashed(chunks: AsyncIterable<Buffer>, hash: Hash): AsyncIterable<Buffer> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

/** A file-level error with the decoder's guess at the cause (an encoding, say) appended. */
function withHint(err: unknown, hint: string | null): unknown {
  const hinted: ReadonlySet<string> = new Set(['REJECT_LIMIT_EXCEEDED', 'FILE_HEADER_MISMATCH', 'FILE_UNTERMINATED_QUOTE']);
  if (hint === null || !(err instanceof TributaryError) || !hinted.has(err.code) || err.message.includes(hint)) return err;
  return new TributaryError(err.code, `${err.message}; ${hint}`, { cause: err.cause, details: err.details });
}

function readError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof TributaryError || typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return err;
  return new TributaryError('FILE_UNREADABLE', `${path}: read failed (${code})`, { cause: err });
}

/**
 * Loads one file inside a savepoint. When COPY refuses a value the validator accepted (a data
 * exception on a line COPY names), the savepoint is rolled back and the file read again with that
 * line refused — its line and Postgres' message in the audit table — up to MAX_POSTGRES_REFUSALS.
 */
export async function loadFile(ctx: TaskContext, plan: LoadPlan, file: FileToLoad): Promise<FileResult> {
  const refused = new Map<number, PostgresRefusal>();
  for (;;) {
    await ctx.client.query('SAVEPOINT tributary_file');
    const outcome = await readAndLoad(ctx, plan, file, refused);
    if ('result' in outcome) {
      await ctx.client.query('RELEASE SAVEPOINT tributary_file');
      return { ...outcome.result, postgres_refused: [...refused.keys()].sort((a, b) => a - b) };
    }
    const { refusal } = outcome;
    await ctx.client.query('ROLLBACK TO SAVEPOINT tributary_file');
    plan.columns.takeCoercions();
    if (refused.size >= MAX_POSTGRES_REFUSALS || refused.has(refusal.line)) {
      throw new TributaryError('FILE_UNREADABLE',
        `${file.path}: Postgres refused line ${refusal.line}${refusal.column ? ` (column ${refusal.column})` : ''}: ${refusal.message} (${refusal.code}), ` +
        `after ${refused.size} values the validator accepted were refused; nothing loaded — declare the column's limits so the validator refuses such rows`);
    }
    refused.set(refusal.line, refusal);
    ctx.log.warn({ path: file.path, ...refusal }, 'load: Postgres refused a value the validator accepted; reading the file again with that line refused');
  }
}

async function readAndLoad(
  ctx: TaskContext, plan: LoadPlan, file: FileToLoad, refused: ReadonlyMap<number, PostgresRefusal>,
): Promise<{ result: FileResult } | { refusal: PostgresRefusal }> {
  const load = new FileLoad(ctx, plan, file, refused);
  const reader = new CsvReader(plan.dialect, load);
  const hash = createHash('sha256');
  const chunks = decodeChunks(hashed(readChunks(file), hash), plan.options.csv, file.path);
  try {
    for await (const chunk of chunks) {
      ctx.signal.throwIfAborted();
      reader.push(chunk);
      await load.flush(false);
    }
    reader.end();
    if (!load.sawHeader) throw new TributaryError('FILE_EMPTY', `${file.path}: no header line (the file is empty or blank)`);
    await load.flush(true);
  } catch (err) {
    load.abort(err instanceof Error ? err : new Error(String(err)));
    await load.merge?.wait().catch(() => undefined);
    const refusal = load.postgresRefusal(err);
    if (refusal !== null) return { refusal };
    throw withHint(readError(err, file.path), chunks.hint());
  }
  if (hash.digest('hex') !== file.sha256) {
    throw new TributaryError('FILE_CHANGED', `${file.path}: the file changed while it was being loaded (its content hash differs); nothing loaded`);
  }
  await checkUnchanged(file, 'while it was being loaded');
  let loaded = load.copied;
  const coercions = plan.columns.takeCoercions();
  if (load.usedStaging && load.merge) {
    await load.merge.finish();
    loaded = load.merge.loaded;
    for (const [key, n] of load.merge.dropped) if ((coercions[key] -= n) === 0) delete coercions[key];
  }
  const result: FileResult = {
    path: file.path, ...(file.partition === undefined ? {} : { partition: file.partition }),
    sha256: file.sha256, bytes: file.bytes, rows_read: load.read, rows_loaded: loaded,
    rows_rejected: load.rejected, rows_deduplicated: load.deduplicated + load.copied - loaded, skipped: false, coercions,
    lines_read: load.lines, lines_rejected: load.linesRejected, multiline_rejects: load.multiline, postgres_refused: [],
  };
  checkAccounting(result, load.valid, load.copied);
  try {
    checkRejectLimit(plan.options.rejectLimit, result);
  } catch (err) {
    throw withHint(err, chunks.hint());
  }
  if (result.rows_read > 0 && result.rows_loaded + result.rows_deduplicated === 0 && !plan.options.allowEmpty) {
    throw new TributaryError('LOAD_EMPTY',
      `${file.path}: all ${result.rows_read} rows refused (${load.firstRefusal ?? 'see the audit table'})${chunks.hint() === null ? '' : `; ${chunks.hint()}`}; nothing loaded — fix the file or its options, or set allowEmpty: true if that is expected`);
  }
  await recordInLedger(ctx.db, {
    target: plan.target, partition: file.partition ?? '', sha256: file.sha256, path: file.realPath, bytes: file.bytes,
    runId: ctx.runId, taskId: ctx.taskId, mapIndex: ctx.mapIndex,
    rowsRead: result.rows_read, rowsLoaded: result.rows_loaded, rowsRejected: result.rows_rejected,
    rowsDeduplicated: result.rows_deduplicated, coercions: result.coercions,
  });
  return { result };
}

/** read = loaded + rejected + deduplicated, and COPY took exactly the rows that passed. */
function checkAccounting(r: FileResult, valid: number, copied: number): void {
  if (copied !== valid || r.rows_read !== r.rows_loaded + r.rows_rejected + r.rows_deduplicated) {
    throw new TributaryError('ACCOUNTING_MISMATCH',
      `${r.path}: read ${r.rows_read} ≠ loaded ${r.rows_loaded} + rejected ${r.rows_rejected} + deduplicated ${r.rows_deduplicated} (valid ${valid}, copied ${copied})`);
  }
}
