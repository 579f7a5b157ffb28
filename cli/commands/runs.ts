/** `trib trigger`, `trib backfill`, `trib runs <dag>`, `trib run show <run-id>`. */
import type { Command } from 'commander';
import { backfill, planBackfill, triggerRun } from '../../engine/operations.ts';
import type { Json } from '../../engine/types.ts';
import { listRuns, runDetail, type RunDetail } from '../../dashboard/queries.ts';
import { attemptState, runAttempts, type AttemptRow } from '../../dashboard/ui-queries.ts';
import { dayArg, paramsArg, positiveIntArg, runIdArg } from '../args.ts';
import { formatDate, formatDuration, oneLine, printable, shortJson, table } from '../format.ts';
import { withRuntime } from '../runtime.ts';

const span = (start: Date | null, end: Date | null) => (start && end ? formatDuration(end.getTime() - start.getTime()) : '-');

export function addRunCommands(program: Command): void {
  program
    .command('trigger <dag>')
    .description('create the run of a day (default today, UTC) and start it')
    .option('--date <YYYY-MM-DD>', 'logical day of the run', dayArg)
    .option('--params <json>', 'run params as a JSON object (override the DAG defaults key by key)', paramsArg)
    .action((dagId: string, opts: { date?: string; params?: Record<string, Json> }) =>
      withRuntime(async ({ engine }) => {
        const dag = engine.dag(dagId);
        await engine.register();
        const run = await triggerRun(engine.pool, engine.dispatcher, dag, { day: opts.date, params: opts.params });
        const what = run.created ? 'created' : 'already exists';
        console.log(`run ${run.runId} of ${dag.id} for ${formatDate(run.logicalDate)}: ${what}`);
      }),
    );

  program
    .command('backfill <dag>')
    .description('create the run of every scheduled interval whose tick falls on a day from..to (inclusive, DAG timezone), oldest first')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', dayArg)
    .requiredOption('--to <YYYY-MM-DD>', 'last day', dayArg)
    .option('--params <json>', 'run params as a JSON object', paramsArg)
    .option('--yes', 'create more runs than BACKFILL_MAX_RUNS')
    .action((dagId: string, opts: { from: string; to: string; params?: Record<string, Json>; yes?: boolean }) =>
      withRuntime(async ({ engine, config }) => {
        const dag = engine.dag(dagId);
        const dates = planBackfill(dag, opts.from, opts.to, { maxRuns: config.BACKFILL_MAX_RUNS, confirmed: opts.yes === true });
        console.log(`backfill of ${dag.id} from ${opts.from} to ${opts.to}: ${dates.length} run(s)`);
        await engine.register();
        const runs = await backfill(engine.pool, engine.dispatcher, dag, dates, opts.params);
        const created = runs.filter((r) => r.created).length;
        for (const r of runs) console.log(`run ${r.runId} ${formatDate(r.logicalDate)} ${r.created ? 'created' : 'exists'}`);
        console.log(`${created} run(s) created, ${runs.length - created} already existed`);
      }),
    );

  program
    .command('runs <dag>')
    .description('list the newest runs of a DAG')
    .option('--limit <n>', 'how many runs', positiveIntArg('--limit'), 20)
    .option('--json', 'print JSON instead of a table')
    .action((dagId: string, opts: { limit: number; json?: boolean }) =>
      withRuntime(async ({ engine }) => {
        engine.dag(dagId);
        const runs = await listRuns(engine.pool, dagId, opts.limit);
        if (opts.json) return void console.log(JSON.stringify(runs, null, 2));
        if (runs.length === 0) return void console.log(`no runs of ${dagId} yet`);
        const rows = runs.map((r) => [
          String(r.id), formatDate(r.logicalDate), withWarnings(r.state, r.warnings), r.runType, formatDate(r.startedAt), span(r.startedAt, r.endedAt),
        ]);
        console.log(table(['RUN', 'LOGICAL DATE', 'STATE', 'TYPE', 'STARTED', 'DURATION'], rows));
      }),
    );

  const run = program.command('run').description('inspect one run');
  run
    .command('show')
    .description('a run and its tasks: states, tries, durations, results')
    .argument('<run-id>', 'run id (see `trib runs <dag>`)', runIdArg)
    .option('--json', 'print JSON instead of a table')
    .action((runId: number, opts: { json?: boolean }) =>
      withRuntime(async ({ engine }) => {
        const detail = await runDetail(engine.pool, runId, engine.dags);
        const attempts = await runAttempts(engine.pool, runId);
        console.log(opts.json ? JSON.stringify({ ...detail, attempts }, null, 2) : [renderRun(detail), renderAttempts(attempts)].join('\n'));
      }),
    );
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

/** Every delivery of every try, as the run page lists them: worker, start, end, state, code. */
function renderAttempts(attempts: AttemptRow[]): string {
  if (attempts.length === 0) return '';
  const rows = attempts.map((a) => [
    a.mapIndex < 0 ? a.taskId : `${a.taskId}[${a.mapIndex}]`, `${a.tryNumber}.${a.attempt}`, attemptState(a, formatDate),
    a.worker, formatDate(a.startedAt), formatDate(a.endedAt), a.error ? oneLine(errorLine(a.errorCode, a.error), 70) : '',
  ]);
  return ['', 'attempts:', table(['TASK', 'TRY.ATTEMPT', 'STATE', 'WORKER', 'STARTED', 'ENDED', 'ERROR'], rows)].join('\n');
}

export function renderRun(run: RunDetail): string {
  const head = [
    `run ${run.id} of ${run.dagId} — ${withWarnings(run.state, run.warnings)}`,
    `logical date ${formatDate(run.logicalDate)}  type ${run.runType}  started ${formatDate(run.startedAt)}  took ${span(run.startedAt, run.endedAt)}`,
    `params ${shortJson(run.params, 200)}`,
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
