/**
 * `trib dags test <dag> --date D` runs a whole DAG in this process (workers and sweeper, no
 * scheduler), like `airflow dags test`, and prints each task's state, rows and result: exit 0 when the
 * run succeeded, 1 otherwise. `trib dags validate [file]` checks definitions without a database.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { dagFileNames, importDag } from '../../engine/dag.ts';
import { loadConfig } from '../../engine/config.ts';
import { TributaryError } from '../../engine/errors.ts';
import { loadProjectKinds } from '../../engine/kinds.ts';
import type { Json } from '../../engine/types.ts';
import { dagSummaries, runDetail, type RunDetail } from '../../dashboard/queries.ts';
import { builtinKinds } from '../../jobs/index.ts';
import { startDemoRun, waitForRun } from '../../workers/demo.ts';
import { dayArg, paramsArg, positiveIntArg } from '../args.ts';
import { formatDate, formatDuration, oneLine, shortJson, table } from '../format.ts';
import { withRuntime } from '../runtime.ts';

export function addDagCheckCommands(dags: Command): void {
  dags
    .command('test <dag>')
    .description('run a whole DAG in this process now (like `airflow dags test`); an ended run of that day runs again')
    .requiredOption('--date <YYYY-MM-DD>', 'logical day of the run', dayArg)
    .option('--params <json>', 'run params as a JSON object (validated against the declared ones)', paramsArg)
    .option('--timeout <seconds>', 'give up (exit 1) when the run has not ended by then', positiveIntArg('--timeout'), 3600)
    .action((dagId: string, opts: { date: string; params?: Record<string, Json>; timeout: number }) =>
      withRuntime(async ({ engine, config }) => {
        const dag = engine.dag(dagId);
        await engine.register();
        if ((await dagSummaries(engine.pool, [dag]))[0].paused) {
          throw new TributaryError('ARGUMENT_INVALID', `dag "${dag.id}" is paused, so its run would never start: \`trib unpause ${dag.id}\` first`);
        }
        engine.startWorkers({ concurrency: config.concurrency });
        engine.startSweeper(1000);
        const runId = await startDemoRun(engine, dag, opts.date, opts.params ?? {});
        const state = await waitForRun(engine.pool, runId, AbortSignal.timeout(opts.timeout * 1000)).catch((err: unknown) => {
          if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') return 'still running';
          throw err;
        });
        const detail = await runDetail(engine.pool, runId, engine.dags);
        console.log(renderTest(detail));
        if (state !== 'success') {
          throw new TributaryError('RUN_FAILED', `run ${runId} of ${dag.id} for ${opts.date}: ${state}${failedTasks(detail)}`);
        }
      }),
    );

  dags
    .command('validate [file]')
    .description('check DAG definitions (DAGS_DIR, or one file) without a database: one line per problem, exit 2 when any')
    .action(async (file?: string) => {
      const dir = file ? path.dirname(file) : loadConfig().DAGS_DIR;
      const files = file ? [file] : await folderFiles(dir);
      const { problems, dags } = await checkDagFiles(dir, files);
      for (const line of problems) console.log(line);
      if (problems.length > 0) {
        throw new TributaryError('DAG_INVALID', `${problems.length} problem(s) in ${files.length} DAG file(s)`);
      }
      console.log(`ok: ${dags.length} DAG(s) in ${files.length} file(s): ${dags.join(', ')}`);
    });
}

async function folderFiles(dir: string): Promise<string[]> {
  try {
    return dagFileNames(await fs.readdir(dir)).map((name) => path.join(dir, name));
  } catch (err) {
    throw new TributaryError('CONFIG_INVALID', `DAGS_DIR ${dir}: cannot read the DAG folder: ${(err as Error).message}`);
  }
}

/**
 * Compiles every file (not stopping at the first bad one) with the shipped kinds and the project's
 * (`kinds/` beside `dir`, or exported by DAG files): each DAG_INVALID or JOB_KIND_INVALID line, and
 * ids defined twice; else the DAG ids.
 */
export async function checkDagFiles(dir: string, files: readonly string[]): Promise<{ problems: string[]; dags: string[] }> {
  const problems: string[] = [];
  const kinds = await loadProjectKinds(dir, builtinKinds()).catch((err: unknown) => {
    if (!(err instanceof TributaryError) || err.code !== 'JOB_KIND_INVALID') throw err;
    problems.push(oneLine(err.message, Infinity));
    return builtinKinds();
  });
  const byId = new Map<string, string>();
  for (const file of files) {
    try {
      const dag = await importDag(file, kinds);
      const other = byId.get(dag.id);
      if (other) problems.push(`${file}: dag "${dag.id}": also defined in ${other}`);
      else byId.set(dag.id, file);
    } catch (err) {
      if (!(err instanceof TributaryError) || err.code !== 'DAG_INVALID') throw err;
      problems.push(oneLine(err.message, Infinity));
    }
  }
  return { problems, dags: [...byId.keys()] };
}

/** Rows a task moved, from its result: a load's files (read/loaded/rejected) or a report's rows. */
export function rowsOf(result: Json | null): string {
  const items = Array.isArray(result) ? result : [result];
  let read = 0;
  let loaded = 0;
  let rejected = 0;
  let files = 0;
  for (const item of items) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    if (typeof item.rows_read === 'number') {
      files += 1;
      read += item.rows_read;
      loaded += Number(item.rows_loaded ?? 0);
      rejected += Number(item.rows_rejected ?? 0);
    } else if (typeof item.rows === 'number') {
      return `${item.rows} written`;
    }
  }
  return files === 0 ? '-' : `${read} read, ${loaded} loaded, ${rejected} rejected`;
}

function renderTest(run: RunDetail): string {
  const rows = run.tasks.map((t) => [
    t.mapIndex < 0 ? t.taskId : `${t.taskId}[${t.mapIndex}]`,
    t.state,
    formatDuration(t.durationMs),
    rowsOf(t.result),
    t.error ? oneLine(t.error, 100) : shortJson(t.result, 100),
  ]);
  return [
    `run ${run.id} of ${run.dagId} for ${formatDate(run.logicalDate)}: ${run.state}`,
    `params ${shortJson(run.params, 200)}`,
    table(['TASK', 'STATE', 'DURATION', 'ROWS', 'RESULT / ERROR'], rows),
  ].join('\n');
}

function failedTasks(run: RunDetail): string {
  const failed = run.tasks.filter((t) => t.state === 'failed' || t.state === 'upstream_failed').map((t) => `${t.taskId} ${t.state}`);
  return failed.length > 0 ? ` (${failed.join(', ')})` : '';
}
