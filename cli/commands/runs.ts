/** `trib trigger`, `trib backfill`, `trib runs <dag>`, `trib run show <run-id>`. */
import type { Command } from 'commander';
import { backfill, triggerRun } from '../../engine/operations.ts';
import { daysBetween } from '../../engine/schedule.ts';
import type { Json } from '../../engine/types.ts';
import { listRuns, runDetail, type RunDetail } from '../../dashboard/queries.ts';
import { dayArg, paramsArg, positiveIntArg, runIdArg } from '../args.ts';
import { formatDate, formatDuration, oneLine, shortJson, table } from '../format.ts';
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
    .description('create one run per day from..to (inclusive), oldest first')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', dayArg)
    .requiredOption('--to <YYYY-MM-DD>', 'last day', dayArg)
    .option('--params <json>', 'run params as a JSON object', paramsArg)
    .action((dagId: string, opts: { from: string; to: string; params?: Record<string, Json> }) =>
      withRuntime(async ({ engine }) => {
        const dag = engine.dag(dagId);
        daysBetween(opts.from, opts.to); // validates the range before touching anything
        await engine.register();
        const runs = await backfill(engine.pool, engine.dispatcher, dag, opts.from, opts.to, opts.params);
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
          String(r.id), formatDate(r.logicalDate), r.state, r.runType, formatDate(r.startedAt), span(r.startedAt, r.endedAt),
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
        console.log(opts.json ? JSON.stringify(detail, null, 2) : renderRun(detail));
      }),
    );
}

export function renderRun(run: RunDetail): string {
  const head = [
    `run ${run.id} of ${run.dagId} — ${run.state}`,
    `logical date ${formatDate(run.logicalDate)}  type ${run.runType}  started ${formatDate(run.startedAt)}  took ${span(run.startedAt, run.endedAt)}`,
    `params ${shortJson(run.params, 200)}`,
    '',
  ];
  const rows = run.tasks.map((t) => [
    t.mapIndex < 0 ? t.taskId : `${t.taskId}[${t.mapIndex}]`,
    t.state,
    `${t.tryNumber}/${t.maxTries}`,
    formatDuration(t.durationMs),
    t.error ? `${t.errorCode ?? 'error'}: ${oneLine(t.error, 70)}` : shortJson(t.result),
  ]);
  return [...head, table(['TASK', 'STATE', 'TRY', 'DURATION', 'RESULT / ERROR'], rows)].join('\n');
}
