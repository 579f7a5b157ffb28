/** `trib task clear|mark`, `trib logs <run-id> <task>`, `trib run-task <dag> <task> --date D`. */
import { Argument, type Command } from 'commander';
import type { Json } from '../../engine/types.ts';
import { dayArg, jsonArg, nonNegativeIntArg, runIdArg } from '../args.ts';
import { formatDate, formatDuration } from '../format.ts';

/** Bindings every line of a try carries; `trib logs` shows them once in its own columns instead. */
const CONTEXT_FIELDS = new Set(['pid', 'hostname', 'dag_id', 'run_id', 'task_id', 'map_index', 'try']);

export function addTaskCommands(program: Command): void {
  const task = program.command('task').description('change tasks of a run');
  task
    .command('clear')
    .description('clear a task (and with --downstream everything after it) so it runs again')
    .argument('<run-id>', 'run id', runIdArg)
    .argument('<task>', 'task id')
    .option('--downstream', 'also clear every task downstream of it')
    .action(async (runId: number, taskId: string, opts: { downstream?: boolean }) => {
      const [{ withRuntime }, { getRun }, { clearTasks }, { audited }] = await Promise.all([
        import('../runtime.ts'), import('../../dashboard/queries.ts'), import('../../engine/operations.ts'), import('../audited.ts'),
      ]);
      await withRuntime(async ({ engine }) => {
        const run = await getRun(engine.pool, runId);
        const cleared = await audited(engine.pool, { action: 'clear', target: `run ${runId} task ${taskId}`, params: { downstream: opts.downstream ?? false } }, () =>
          clearTasks(engine.pool, engine.dispatcher, engine.dag(run.dagId), runId, taskId, opts.downstream ?? false));
        console.log(`cleared in run ${runId}: ${cleared.join(', ')}`);
      });
    });
  task
    .command('mark')
    .description('set a task to success or failed by hand; the run moves on from there')
    .argument('<run-id>', 'run id', runIdArg)
    .argument('<task>', 'task id')
    .addArgument(new Argument('<state>', 'new state').choices(['success', 'failed']))
    .option('--map-index <n>', 'only this child of a mapped task (without it: the task and all its children)', nonNegativeIntArg('--map-index'))
    .action(async (runId: number, taskId: string, state: 'success' | 'failed', opts: { mapIndex?: number }) => {
      const [{ withRuntime }, { getRun }, { markTask }, { audited }] = await Promise.all([
        import('../runtime.ts'), import('../../dashboard/queries.ts'), import('../../engine/operations.ts'), import('../audited.ts'),
      ]);
      await withRuntime(async ({ engine }) => {
        const run = await getRun(engine.pool, runId);
        const r = await audited(engine.pool, { action: 'mark', target: `run ${runId} task ${taskId}`, params: { state, mapIndex: opts.mapIndex ?? null } }, () =>
          markTask(engine.pool, engine.dispatcher, engine.dag(run.dagId), runId, taskId, state, opts.mapIndex));
        const what = opts.mapIndex === undefined ? taskId : `${taskId}[${opts.mapIndex}]`;
        const count = r.marked > 1 ? ` (${r.marked} instances)` : '';
        const cut = r.interrupted > 0 ? `; interrupted its unfinished tries (${r.interrupted}): nothing they write commits` : '';
        console.log(`run ${runId}: ${what} marked ${state}${count}${cut}`);
      });
    });

  program
    .command('logs')
    .description('the stored log lines of a task in a run (every try and map index)')
    .argument('<run-id>', 'run id', runIdArg)
    .argument('<task>', 'task id')
    .option('--json', 'print JSON lines')
    .action(async (runId: number, taskId: string, opts: { json?: boolean }) => {
      const [{ withRuntime }, { taskLogs }] = await Promise.all([import('../runtime.ts'), import('../../dashboard/queries.ts')]);
      await withRuntime(async ({ engine }) => {
        const lines = await taskLogs(engine.pool, runId, taskId);
        if (lines.length === 0) return void console.log(`no log lines for ${taskId} in run ${runId} yet`);
        for (const l of lines) {
          if (opts.json) console.log(JSON.stringify(l));
          else {
            const where = l.mapIndex >= 0 ? ` [${l.mapIndex}]` : '';
            const extra = Object.entries(l.fields ?? {}).filter(([k]) => !CONTEXT_FIELDS.has(k));
            const fields = extra.length > 0 ? ` ${JSON.stringify(Object.fromEntries(extra))}` : '';
            console.log(`${formatDate(l.at)} ${l.level.toUpperCase().padEnd(5)} try ${l.tryNumber}${where}  ${l.message}${fields}`);
          }
        }
      });
    });

  program
    .command('run-task')
    .description('run ONE task in this process now (like `airflow tasks test`): no queue, task state untouched')
    .argument('<dag>', 'DAG id')
    .argument('<task>', 'task id')
    .requiredOption('--date <YYYY-MM-DD>', 'logical day of the run to use (created if missing)', dayArg)
    .option('--map-item <json>', 'the list item for a mapped task', jsonArg('--map-item'))
    .action(async (dagId: string, taskId: string, opts: { date: string; mapItem?: Json }) => {
      const [{ withRuntime }, { createLogger }, { runTaskNow }] = await Promise.all([
        import('../runtime.ts'), import('../../engine/logger.ts'), import('../run-task.ts'),
      ]);
      await withRuntime(async ({ engine, config }) => {
        const dag = engine.dag(dagId);
        const log = createLogger(config.LOG_LEVEL);
        const r = await runTaskNow(engine, dag, taskId, opts.date, { mapItem: opts.mapItem, log });
        console.log(
          `${dagId}.${taskId} for ${formatDate(r.logicalDate)} (run ${r.runId}${r.created ? ', created' : ''}): ` +
            `succeeded in ${formatDuration(r.durationMs)}`,
        );
        if (r.created) console.log(`note: run ${r.runId} was created for this; like any queued run, a running scheduler will start it`);
        console.log(JSON.stringify(r.outcome, null, 2));
      });
    });
}
