/** `trib trigger`, `trib backfill`, `trib runs <dag>`, `trib run show|clear <run-id>`. */
import type { Command } from 'commander';
import type { TriggerResult } from '../../engine/operations.ts';
import type { CompiledDag, Json } from '../../engine/types.ts';
import type { RunDetail } from '../../dashboard/queries.ts';
import type { AttemptRow } from '../../dashboard/ui-queries.ts';
import { dayArg, paramsArg, positiveIntArg, runIdArg } from '../args.ts';
import { formatDate, formatDuration, oneLine, printable, shortJson, table } from '../format.ts';
import { REDACTED, redactParams } from '../../engine/secret-params.ts';
import { describeError } from '../../engine/errors.ts';
import type { Config } from '../../engine/config.ts';

const span = (start: Date | null, end: Date | null) => (start && end ? formatDuration(end.getTime() - start.getTime()) : '-');
const runtime = () => import('../runtime.ts');

export function addRunCommands(program: Command): void {
  program
    .command('trigger <dag>')
    .description('start a run: without --date a new manual run now (logical date = now), with --date the run of that day')
    .option('--date <YYYY-MM-DD>', 'the run of this logical day; one that exists is left as it is, and said so', dayArg)
    .option('--params <json>', 'run params as a JSON object (override the DAG defaults key by key)', paramsArg)
    .action(async (dagId: string, opts: { date?: string; params?: Record<string, Json> }) => {
      const [{ withRuntime }, { triggerRun }, { audited, cliActor }, { redactParams }] = await Promise.all([
        runtime(), import('../../engine/operations.ts'), import('../audited.ts'), import('../../engine/secret-params.ts'),
      ]);
      await withRuntime(async ({ engine }) => {
        const dag = engine.dag(dagId);
        await engine.register();
        const params = { date: opts.date ?? null, params: redactParams(dag, opts.params ?? {}) };
        const result = await audited(engine.pool, { action: 'trigger', target: `dag ${dagId}`, params }, () =>
          triggerRun(engine.pool, engine.dispatcher, dag, { date: opts.date, params: opts.params, triggeredBy: cliActor() }));
        console.log(printable(triggerLine(dag, result)));
      });
    });

  program
    .command('backfill <dag>')
    .description('create the run of every scheduled interval whose tick falls on a day from..to (inclusive, DAG timezone), oldest first')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', dayArg)
    .requiredOption('--to <YYYY-MM-DD>', 'last day', dayArg)
    .option('--params <json>', 'run params as a JSON object', paramsArg)
    .option('--yes', 'create more runs than BACKFILL_MAX_RUNS')
    .action(async (dagId: string, opts: { from: string; to: string; params?: Record<string, Json>; yes?: boolean }) => {
      const [{ withRuntime }, { backfill, planBackfill }, { audited, cliActor }, { redactParams }] = await Promise.all([
        runtime(), import('../../engine/operations.ts'), import('../audited.ts'), import('../../engine/secret-params.ts'),
      ]);
      await withRuntime(async ({ engine, config }) => {
        const dag = engine.dag(dagId);
        const dates = planBackfill(dag, opts.from, opts.to, { maxRuns: config.BACKFILL_MAX_RUNS, confirmed: opts.yes === true });
        console.log(`backfill of ${dag.id} from ${opts.from} to ${opts.to}: ${dates.length} run(s)`);
        await engine.register();
        const params = { from: opts.from, to: opts.to, params: redactParams(dag, opts.params ?? {}) };
        const runs = await audited(engine.pool, { action: 'backfill', target: `dag ${dagId}`, params }, () =>
          backfill(engine.pool, engine.dispatcher, dag, dates, opts.params, cliActor()));
        const created = runs.filter((r) => r.created).length;
        for (const r of runs) console.log(`run ${r.runId} ${formatDate(r.logicalDate)} ${r.created ? 'created' : 'exists'}`);
        console.log(`${created} run(s) created, ${runs.length - created} already existed`);
      });
    });

  program
    .command('runs <dag>')
    .description('list the newest runs of a DAG')
    .option('--limit <n>', 'how many runs', positiveIntArg('--limit'), 20)
    .option('--json', 'print JSON instead of a table')
    .action(async (dagId: string, opts: { limit: number; json?: boolean }) => {
      // Reads the record only: no engine, and DAG files only for --json (its params' secrets).
      const [{ withRecord }, { listRuns, requireRegisteredDag }] = await Promise.all([
        import('../find-database.ts'), import('../../dashboard/queries.ts'),
      ]);
      await withRecord(async (pool, config) => {
        await requireRegisteredDag(pool, dagId);
        const runs = await listRuns(pool, dagId, opts.limit);
        if (opts.json) {
          const mask = await paramsMask(config, dagId);
          return void console.log(JSON.stringify(runs.map((r) => ({ ...r, params: mask(r.params) })), null, 2));
        }
        if (runs.length === 0) return void console.log(`no runs of ${dagId} yet`);
        const rows = runs.map((r) => [
          String(r.id), formatDate(r.logicalDate), withWarnings(r.state, r.warnings), r.runType, formatDate(r.startedAt), span(r.startedAt, r.endedAt),
        ]);
        console.log(table(['RUN', 'LOGICAL DATE', 'STATE', 'TYPE', 'STARTED', 'DURATION'], rows));
      });
    });

  const run = program.command('run').description('inspect or re-run one run');
  run
    .command('show')
    .description('a run and its tasks: states, tries, durations, results; why it waits while queued')
    .argument('<run-id>', 'run id (see `trib runs <dag>`)', runIdArg)
    .option('--json', 'print JSON instead of a table')
    .action(async (runId: number, opts: { json?: boolean }) => {
      const [{ withRuntime }, { runDetail }, { attemptState, runAttempts }] = await Promise.all([
        runtime(), import('../../dashboard/queries.ts'), import('../../dashboard/ui-queries.ts'),
      ]);
      await withRuntime(async ({ engine }) => {
        const found = await runDetail(engine.pool, runId, engine.dags);
        const detail = { ...found, params: redactParams(engine.dags.get(found.dagId), found.params) };
        const attempts = await runAttempts(engine.pool, runId);
        console.log(opts.json ? JSON.stringify({ ...detail, attempts }, null, 2) : [renderRun(detail), renderAttempts(attempts, (a) => attemptState(a, formatDate))].join('\n'));
      });
    });
  run
    .command('clear')
    .description('clear every task of a run so it runs again whole, with its own params (like clearing a DAG run in Airflow)')
    .argument('<run-id>', 'run id', runIdArg)
    .action(async (runId: number) => {
      const [{ withRuntime }, { getRun }, { clearRun }, { audited }] = await Promise.all([
        runtime(), import('../../dashboard/queries.ts'), import('../../engine/operations.ts'), import('../audited.ts'),
      ]);
      await withRuntime(async ({ engine }) => {
        const dag = engine.dag((await getRun(engine.pool, runId)).dagId);
        await engine.register();
        const cleared = await audited(engine.pool, { action: 'clear-run', target: `run ${runId}` }, () => clearRun(engine.pool, engine.dispatcher, dag, runId));
        const now = await getRun(engine.pool, runId);
        console.log(`run ${runId} of ${dag.id} cleared (${cleared.length} task${cleared.length === 1 ? '' : 's'}: ${cleared.join(', ')}): ${now.state}`);
      });
    });
}

/**
 * How `trib runs --json` shows a run's params: the DAG's secrets masked; when its DAG files do not
 * load, every value masked (secrets cannot be told apart then), said on stderr.
 */
async function paramsMask(config: Config, dagId: string): Promise<(params: Record<string, Json>) => Record<string, Json>> {
  const { loadDagsFrom } = await import('../runtime.ts');
  try {
    const dag = (await loadDagsFrom(config)).get(dagId);
    if (dag) return (params) => redactParams(dag, params);
    console.error(`params masked: dag ${dagId} is not in ${config.DAGS_DIR}, so its secret params are not known`);
  } catch (err) {
    console.error(`params masked: the DAG files did not load, so secret params are not known (${describeError(err)})`);
  }
  return (params) => Object.fromEntries(Object.keys(params).map((name) => [name, REDACTED]));
}

/**
 * What a trigger did, in one line: `created, started`; `created, waiting: <why>`; or, for a run of
 * that date that existed with the same params, that nothing started and how to run it again.
 */
export function triggerLine(dag: CompiledDag, run: TriggerResult): string {
  const head = `run ${run.runId} of ${dag.id} for ${formatDate(run.logicalDate)}`;
  if (run.created) return `${head}: created, ${run.started ? 'started' : `waiting: ${run.waitReason ?? run.state}`}`;
  const state = run.state === 'queued' ? `queued: ${run.waitReason ?? 'waiting'}`
    : run.endedAt ? `${run.state}, ended ${clock(run.endedAt)}` : run.state;
  const again = run.endedAt ? `; \`trib run clear ${run.runId}\` runs it again` : '';
  return `${head} already exists (${state}): nothing started${again}`;
}

/** `10:02 UTC` today (UTC), else `2025-05-13 10:02 UTC`. */
function clock(at: Date, now = new Date()): string {
  const iso = at.toISOString();
  return `${iso.slice(0, 10) === now.toISOString().slice(0, 10) ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 16)} UTC`;
}

/** The stored error with its code once: messages are stored as `CODE: …` already (describeError). */
function errorLine(code: string | null, error: string): string {
  return /^[A-Z0-9_]{3,}: /.test(error) ? error : `${code ?? 'error'}: ${error}`;
}

/** `success (2 warnings)`, or the state alone. */
function withWarnings(state: string, warnings: number): string {
  return warnings === 0 ? state : `${state} (${warnings} warning${warnings === 1 ? '' : 's'})`;
}

/** The warnings of each task, then the files with refused rows; nothing when there are none. */
function renderWarnings(run: RunDetail): string[] {
  const lines = run.tasks.flatMap((t) => t.warnings.map((w) => `  ${t.mapIndex < 0 ? t.taskId : `${t.taskId}[${t.mapIndex}]`}: ${w}`));
  const refused = run.refused.map((f) => `  ${f.taskId}${f.mapIndex < 0 ? '' : `[${f.mapIndex}]`}: ${f.path}: ${f.rowsRefused} of ${f.rowsRead} rows refused`);
  return [...(lines.length > 0 ? ['', 'warnings:', ...lines.map(printable)] : []), ...(refused.length > 0 ? ['', 'rows refused at load:', ...refused.map(printable)] : [])];
}

/** Every delivery of every try, as the run page lists them: worker, start, end, state (`stateOf`), code. */
function renderAttempts(attempts: AttemptRow[], stateOf: (a: AttemptRow) => string): string {
  if (attempts.length === 0) return '';
  const rows = attempts.map((a) => [
    a.mapIndex < 0 ? a.taskId : `${a.taskId}[${a.mapIndex}]`, `${a.tryNumber}.${a.attempt}`, stateOf(a),
    a.worker, formatDate(a.startedAt), formatDate(a.endedAt), a.error ? oneLine(errorLine(a.errorCode, a.error), 70) : '',
  ]);
  return ['', 'attempts:', table(['TASK', 'TRY.ATTEMPT', 'STATE', 'WORKER', 'STARTED', 'ENDED', 'ERROR'], rows)].join('\n');
}

export function renderRun(run: RunDetail): string {
  const head = [
    `run ${run.id} of ${run.dagId} — ${withWarnings(run.state, run.warnings)}`,
    `logical date ${formatDate(run.logicalDate)}  type ${run.runType}${run.triggeredBy ? ` by ${printable(run.triggeredBy)}` : ''}  started ${formatDate(run.startedAt)}  took ${span(run.startedAt, run.endedAt)}`,
    `params ${shortJson(run.params, 200)}`,
    ...(run.waitReason ? [printable(`queued: ${run.waitReason}`)] : []),
    '',
  ];
  const rows = run.tasks.map((t) => [
    t.mapIndex < 0 ? t.taskId : `${t.taskId}[${t.mapIndex}]`,
    withWarnings(t.state, t.warnings.length),
    `${t.tryNumber}/${t.maxTries}`,
    formatDuration(t.durationMs),
    t.waiting?.text ?? (t.error ? oneLine(errorLine(t.errorCode, t.error), 90) : shortJson(t.result)),
  ]);
  return [...head, table(['TASK', 'STATE', 'TRY', 'DURATION', 'RESULT / ERROR'], rows), ...renderWarnings(run)].join('\n');
}
