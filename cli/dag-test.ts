/**
 * `trib dags test` and `trib dags validate` (cli/commands/dags-test.ts declares them).
 * A test runs alone, like `airflow dags test`: the DAG file as it is now, in this process's own
 * workers and sweeper (no scheduler), on its own engine schema `<TRIBUTARY_SCHEMA>_test` (a copy
 * of the engine's tables, db/engine-schema-copy.ts) and its own queues `<QUEUE_PREFIX>_test`, so no
 * other process on the database (a standalone, workers, a scheduler and its sweeper) sees its run
 * or its jobs. Its tasks write the database's real user tables. Two tests on one database take
 * turns (an advisory lock; the second says whom it waits for). The engine's ledgers are in the
 * test schema too: a test's load does not count as loaded for the real runs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { copyEngineSchema } from '../db/engine-schema-copy.ts';
import { dagFileNames, importDag } from '../engine/dag.ts';
import { loadConfig } from '../engine/config.ts';
import { Engine } from '../engine/engine.ts';
import { TributaryError } from '../engine/errors.ts';
import { loadProjectKinds } from '../engine/kinds.ts';
import { triggerRun } from '../engine/operations.ts';
import { validateParams } from '../engine/params.ts';
import { redactParams } from '../engine/secret-params.ts';
import { setPaused } from '../engine/runs.ts';
import { logicalDateFor } from '../engine/schedule.ts';
import type { CompiledDag, Json } from '../engine/types.ts';
import { runDetail, type RunDetail } from '../dashboard/queries.ts';
import { builtinKinds } from '../jobs/index.ts';
import { waitForRun } from '../workers/demo.ts';
import { formatDate, formatDuration, oneLine, shortJson, table } from './format.ts';
import type { Runtime } from './runtime.ts';

export interface DagTestOptions {
  date: string;
  params?: Record<string, Json>;
  timeoutSeconds: number;
}

/** The engine schema and queue prefix of `trib dags test` beside the configured ones. */
export function testNames(config: { TRIBUTARY_SCHEMA: string; QUEUE_PREFIX: string }): { schema: string; prefix: string } {
  return { schema: `${config.TRIBUTARY_SCHEMA}_test`, prefix: `${config.QUEUE_PREFIX}_test` };
}

/** Advisory lock key space of `trib dags test` (the second key is the test schema's hash). */
const TEST_LOCK = 727275;

/**
 * Holds the test lock of `schema` on its own connection until end(); when another test holds it,
 * says so on stderr (naming that test's pid) and waits.
 */
async function takeTestLock(databaseUrl: string, schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: `trib dags test (pid ${process.pid})` });
  await client.connect();
  try {
    const { rows: [first] } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [TEST_LOCK, schema]);
    if (!first.ok) {
      const { rows } = await client.query<{ name: string }>(
        `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2`,
        [TEST_LOCK, schema],
      );
      const holder = rows[0]?.name.match(/\(pid (\d+)\)/)?.[1];
      console.error(`waiting for the other \`trib dags test\` on this database${holder ? ` (pid ${holder})` : ''} to end…`);
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [TEST_LOCK, schema]);
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/**
 * Runs `dagId` for `opts.date` on the test schema and queues, prints each task, and throws
 * RUN_FAILED unless the run succeeded. The test schema's earlier run of that day, and any run of
 * the DAG a killed test left unfinished there, are deleted first (under the lock no other test
 * is running), so the run starts at once with these params and this version of the DAG.
 */
export async function runDagTest(rt: Runtime, dagId: string, opts: DagTestOptions): Promise<void> {
  const { engine: main, config } = rt;
  const dag = main.dag(dagId);
  validateParams(dag, opts.params);
  const { schema, prefix } = testNames(config);
  const lock = await takeTestLock(main.options.databaseUrl, schema);
  try {
    await copyEngineSchema(main.pool, config.TRIBUTARY_SCHEMA, schema);
    const engine = new Engine({ ...main.options, schema, queuePrefix: prefix, pausedAtCreation: false });
    try {
      await engine.register();
      await setPaused(engine.pool, dag.id, false);
      await engine.pool.query(
        `DELETE FROM dag_runs WHERE dag_id = $1 AND (logical_date = $2 OR state IN ('queued', 'running'))`,
        [dag.id, logicalDateFor(dag.schedule, opts.date)],
      );
      engine.startWorkers({ concurrency: config.concurrency });
      // A short sweep interval (a lost job is found in seconds), with a grace a loaded machine's enqueue fits in.
      engine.startSweeper(1000, 5000);
      const { runId } = await triggerRun(engine.pool, engine.dispatcher, dag, { date: opts.date, params: opts.params ?? {} });
      const state = await waitForRun(engine.pool, runId, AbortSignal.timeout(opts.timeoutSeconds * 1000)).catch((err: unknown) => {
        if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') return 'still running';
        throw err;
      });
      const detail = await runDetail(engine.pool, runId, engine.dags);
      console.log(renderTest({ ...detail, params: redactParams(dag, detail.params) }));
      console.log(`test schema ${schema}, queues ${prefix} (no other process sees them): TRIBUTARY_SCHEMA=${schema} trib run show ${runId}`);
      if (state !== 'success') {
        throw new TributaryError('RUN_FAILED', `run ${runId} of ${dag.id} for ${opts.date}: ${state}${failedTasks(detail)}`);
      }
    } finally {
      await engine.close();
    }
  } finally {
    await lock.end().catch(() => undefined);
  }
}

/** `trib dags validate [file]`: one line per problem (exit 2 when any), else the DAG ids. */
export async function validateDags(file?: string): Promise<void> {
  const dir = file ? path.dirname(file) : loadConfig().DAGS_DIR;
  const files = file ? [file] : await folderFiles(dir);
  const { problems, dags } = await checkDagFiles(dir, files);
  for (const line of problems) console.log(line);
  if (problems.length > 0) {
    throw new TributaryError('DAG_INVALID', `${problems.length} problem(s) in ${files.length} DAG file(s)`);
  }
  console.log(`ok: ${dags.length} DAG(s) in ${files.length} file(s): ${dags.join(', ')}`);
}

async function folderFiles(dir: string): Promise<string[]> {
  try {
    return dagFileNames(await fs.readdir(dir)).map((name) => path.join(dir, name));
  } catch (err) {
    throw new TributaryError('CONFIG_INVALID', `DAGS_DIR ${dir}: cannot read the DAG folder: ${(err as Error).message}`);
  }
}

/**
 * Compiles every file (not stopping at the first bad one, nor at a file's first problem) with the
 * shipped kinds and the project's (`kinds/` beside `dir`, or exported by DAG files): each
 * DAG_INVALID or JOB_KIND_INVALID line, and ids defined twice; else the DAG ids.
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
      const dag: CompiledDag = await importDag(file, kinds);
      const other = byId.get(dag.id);
      if (other) problems.push(`${file}: dag "${dag.id}": also defined in ${other}`);
      else byId.set(dag.id, file);
    } catch (err) {
      if (!(err instanceof TributaryError) || err.code !== 'DAG_INVALID') throw err;
      // One problem a line (engine/dag.ts compiles a whole file, every problem named).
      for (const line of err.message.split('\n')) problems.push(oneLine(line, Infinity));
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
