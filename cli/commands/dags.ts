/** `trib dags list|test|validate`, `trib pause <dag>`, `trib unpause <dag>`. */
import type { Command } from 'commander';
import { setPaused } from '../../engine/runs.ts';
import { dagSummaries } from '../../dashboard/queries.ts';
import { formatDate, table } from '../format.ts';
import { withRuntime } from '../runtime.ts';
import { addDagCheckCommands } from './dags-test.ts';

export function addDagCommands(program: Command): void {
  const dags = program.command('dags').description('inspect the DAGs loaded from DAGS_DIR');
  dags
    .command('list')
    .description('list DAGs with schedule, paused flag and last run')
    .option('--json', 'print JSON instead of a table')
    .action((opts: { json?: boolean }) =>
      withRuntime(async ({ engine }) => {
        const list = await dagSummaries(engine.pool, engine.dags.values());
        if (opts.json) return void console.log(JSON.stringify(list, null, 2));
        if (list.length === 0) return void console.log('no DAGs found');
        const rows = list.map((d) => [
          d.dagId,
          d.schedule ? `${d.schedule} ${d.timezone}` : 'manual',
          d.paused ? 'yes' : 'no',
          String(d.tasks),
          d.lastRun ? `#${d.lastRun.id} ${formatDate(d.lastRun.logicalDate)} ${d.lastRun.state}` : '-',
        ]);
        console.log(table(['DAG', 'SCHEDULE', 'PAUSED', 'TASKS', 'LAST RUN'], rows));
      }),
    );
  addDagCheckCommands(dags);

  for (const paused of [true, false]) {
    const name = paused ? 'pause' : 'unpause';
    program
      .command(`${name} <dag>`)
      .description(paused ? 'stop creating and starting runs of a DAG' : 'resume a paused DAG')
      .action((dagId: string) =>
        withRuntime(async ({ engine }) => {
          engine.dag(dagId);
          await engine.register();
          await setPaused(engine.pool, dagId, paused);
          // Unpausing starts runs that waited while paused.
          if (!paused) await engine.dispatcher.startWaitingRuns();
          console.log(`${dagId} ${paused ? 'paused' : 'unpaused'}`);
        }),
      );
  }
}
