/** `trib dags list|test|validate`, `trib pause <dag>`, `trib unpause <dag>`. */
import type { Command } from 'commander';
import { formatDate, table } from '../format.ts';
import { addDagCheckCommands } from './dags-test.ts';

export function addDagCommands(program: Command): void {
  const dags = program.command('dags').description('inspect the DAGs loaded from DAGS_DIR');
  dags
    .command('list')
    .description('list DAGs with schedule, paused flag and last run')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      const [{ withRuntime }, { dagSummaries }] = await Promise.all([import('../runtime.ts'), import('../../dashboard/queries.ts')]);
      await withRuntime(async ({ engine }) => {
        const list = await dagSummaries(engine.pool, engine.dags.values());
        if (opts.json) return void console.log(JSON.stringify(list, null, 2));
        if (list.length === 0) return void console.log('no DAGs found');
        const rows = list.map((d) => [
          d.dagId,
          d.schedule ? `${d.schedule} ${d.timezone}` : 'manual',
          !d.registered ? 'not registered' : d.pausedBy === 'creation' ? 'paused (new: schedule off)' : d.paused ? 'paused' : 'active',
          String(d.tasks),
          d.lastRun ? `#${d.lastRun.id} ${formatDate(d.lastRun.logicalDate)} ${d.lastRun.state}` : '-',
        ]);
        console.log(table(['DAG', 'SCHEDULE', 'STATUS', 'TASKS', 'LAST RUN'], rows));
      });
    });
  addDagCheckCommands(dags);

  for (const paused of [true, false]) {
    const name = paused ? 'pause' : 'unpause';
    program
      .command(`${name} <dag>`)
      .description(paused ? 'stop creating and starting runs of a DAG' : 'resume a paused DAG')
      .action(async (dagId: string) => {
        const [{ withRuntime }, { setPaused }, { unpauseDag }, { audited }] = await Promise.all([
          import('../runtime.ts'), import('../../engine/runs.ts'), import('../../engine/operations.ts'), import('../audited.ts'),
        ]);
        await withRuntime(async ({ engine }) => {
          const dag = engine.dag(dagId);
          await engine.register();
          const record = <T>(fn: () => Promise<T>) => audited(engine.pool, { action: name, target: `dag ${dagId}` }, fn);
          // Unpausing starts runs that waited while paused and says what the schedule creates next.
          if (!paused) return void console.log((await record(() => unpauseDag(engine.pool, engine.dispatcher, dag))).message);
          await record(() => setPaused(engine.pool, dagId, true));
          console.log(`dag ${dagId} paused: its schedule creates no runs and no queued run starts until \`trib unpause ${dagId}\``);
        });
      });
  }
}
