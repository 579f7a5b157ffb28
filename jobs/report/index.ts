/**
 * `report` job kind: runs the query through a cursor on ctx.client (rows stream, never all in
 * memory), writes the CSV atomically, records it in `reports` (path, rows, bytes, sha256, the
 * first keepRows rows as JSON) — one row per (run, task, path), replaced when the run re-runs.
 * A report run without the result of an upstream task (it failed or was skipped: trigger rule
 * all_done) says so: its result carries a warning naming those tasks, shown with the run.
 * The folder is checked on its open handle and the temp file made through it (Linux), so a swapped
 * symlink or folder fails the task and writes nothing outside the data roots; `path` is where the
 * file really is (see the guide's data roots). The rename into place is recorded with the row and
 * done by the engine after COMMIT (ctx.renameAfterCommit): the row's sha256 is the file's.
 */
import type pg from 'pg';
import type { Json, JobKind, TaskContext } from '../../engine/types.ts';
import { reports } from '../../db/schema/quality.ts';
import { reportOptions, type ReportOptions } from './options.ts';
import { AtomicCsvFile } from './atomic-csv.ts';
import { REPORT_TYPES, toCell, escapeFormula } from './cells.ts';
import { renderFileName } from './file-name.ts';
import { confinePath } from '../paths.ts';
import { ConfinedFolder } from '../confined-folder.ts';
import { renderTemplate } from '../templates.ts';
import { SqlParams, contextResolver, preflightResolver, type ParamResolver } from '../sql/named-params.ts';
import { definitionError, explainStatement } from '../sql/verify.ts';
import { onDataClient, onPreflightClient } from '../sql/data-client.ts';

export { reportOptions, type ReportOptions } from './options.ts';
export { escapeFormula } from './cells.ts';
export { renderFileName } from './file-name.ts';

const USER = 'report query';
const CURSOR = 'trib_report_rows';
const FETCH_SIZE = 1000;

function compile(options: ReportOptions, resolve: ParamResolver): { text: string; values: unknown[] } {
  const params = new SqlParams(resolve);
  const text = params.sql(options.query, USER);
  return { text, values: params.values };
}

export const reportKind: JobKind<ReportOptions> = {
  name: 'report',
  options: reportOptions,
  async preflight(options, { client }) {
    const { text, values } = compile(options, preflightResolver());
    await onPreflightClient(client, options.connection, (on) => explainStatement(on, text, values, USER));
  },
  handler: runReport,
};

/** Fetches batches from a cursor over the query; yields column names once, then rows. */
async function* queryBatches(client: pg.PoolClient, text: string, values: unknown[]) {
  try {
    await client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${text}`, values);
  } catch (err) {
    throw definitionError(err, USER, text) ?? err;
  }
  let failed = false;
  try {
    for (;;) {
      const batch = await client
        .query<Json[]>({ text: `FETCH ${FETCH_SIZE} FROM ${CURSOR}`, rowMode: 'array', types: REPORT_TYPES })
        .catch((err: unknown) => {
          failed = true; // the transaction is aborted: no CLOSE possible, ROLLBACK drops the cursor
          throw definitionError(err, USER, text) ?? err;
        });
      yield { columns: batch.fields.map((f) => f.name), rows: batch.rows };
      if (batch.rows.length < FETCH_SIZE) return;
    }
  } finally {
    if (!failed) await client.query(`CLOSE ${CURSOR}`);
  }
}

async function runReport(ctx: TaskContext, options: ReportOptions) {
  const { text, values } = compile(options, contextResolver(ctx));
  const fileName = renderFileName(options.fileName, ctx, options.timezone);
  let file: AtomicCsvFile | undefined;
  let columns: string[] = [];
  const kept: Array<Record<string, Json>> = [];
  try {
    // The query runs on the data's database (a connection's, in a transaction of its own); the
    // report's row is stored with the run, in the try's transaction.
    const { written, csv } = await onDataClient(ctx, options.connection, async (client) => {
      await explainStatement(client, text, values, USER);
      const dir = await confinePath(renderTemplate(options.outputDir, ctx), ctx.dataRoots, 'report folder');
      for await (const batch of queryBatches(client, text, values)) {
        ctx.signal.throwIfAborted();
        if (!file) {
          columns = batch.columns;
          // The folder is checked again on its open handle: the check above was on its name only.
          const folder = await ConfinedFolder.open(dir, ctx.dataRoots, 'report folder');
          file = await AtomicCsvFile.open(folder, fileName, { columns: columns.map(escapeFormula), header: options.header, delimiter: options.delimiter });
        }
        for (const row of batch.rows) {
          if (kept.length < options.keepRows) kept.push(Object.fromEntries(columns.map((c, i) => [c, row[i]])));
          await file.write(row.map(toCell));
        }
      }
      if (!file) throw new Error('report query returned no result description');
      return { written: await file.finish(), csv: file };
    });
    await ctx.db
      .insert(reports)
      .values(record(ctx, written, fileName, columns, kept))
      .onConflictDoUpdate({
        target: [reports.runId, reports.taskId, reports.path],
        set: { ...record(ctx, written, fileName, columns, kept), createdAt: new Date() },
      });
    // The file replaces the target only once the row above is committed: a lost claim or a failed
    // try leaves the previous file, and the temp file is removed.
    await ctx.renameAfterCommit({ tempPath: written.tempPath, finalPath: written.path, sha256: written.sha256 });
    await csv.close();
    const truncated = written.rows > kept.length;
    ctx.log.info({ path: written.path, rows: written.rows, bytes: written.bytes }, 'report written');
    const warnings = withoutUpstream(ctx);
    if (warnings.length > 0) ctx.log.warn({ warnings }, 'report written without some upstream results');
    return {
      path: written.path, file: fileName, rows: written.rows, bytes: written.bytes, sha256: written.sha256, rows_truncated: truncated,
      ...(warnings.length > 0 && { warnings }),
    };
  } catch (err) {
    await file?.discard();
    throw err;
  }
}

/** One warning naming the upstream tasks that gave no result (failed, skipped or upstream failed), if any. */
function withoutUpstream(ctx: TaskContext): string[] {
  const missing = Object.keys(ctx.upstream).filter((task) => ctx.upstream[task] === null).sort();
  if (missing.length === 0) return [];
  return [`built without the results of ${missing.join(', ')}: they did not succeed in this run`];
}

function record(
  ctx: TaskContext,
  written: { path: string; bytes: number; sha256: string; rows: number },
  fileName: string,
  columns: string[],
  kept: Array<Record<string, Json>>,
) {
  return {
    runId: Number(ctx.runId),
    taskId: ctx.taskId,
    path: written.path,
    fileName,
    logicalDate: ctx.logicalDate,
    rowCount: written.rows,
    bytes: written.bytes,
    sha256: written.sha256,
    columns,
    rows: kept,
    rowsTruncated: written.rows > kept.length,
  };
}
