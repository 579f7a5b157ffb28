/**
 * `trib dags test <dag> [--date D]` (default today, UTC) runs a whole DAG alone in this process (its own workers and
 * sweeper, engine schema and queues; see cli/dag-test.ts), like `airflow dags test`, and prints each
 * task's state, rows and result: exit 0 when the run succeeded, 1 otherwise. `trib dags validate
 * [file]` checks definitions without a database.
 */
import type { Command } from 'commander';
import type { Json } from '../../engine/types.ts';
import { dayArg, paramsArg, positiveIntArg } from '../args.ts';

export function addDagCheckCommands(dags: Command): void {
  dags
    .command('test <dag>')
    .description('run a whole DAG alone in this process now (like `airflow dags test`), on its own engine schema and queues')
    .option('--date <YYYY-MM-DD>', 'logical day of the run (default today, UTC)', dayArg)
    .option('--params <json>', 'run params as a JSON object (validated against the declared ones)', paramsArg)
    .option('--timeout <seconds>', 'give up (exit 1) when the run has not ended by then', positiveIntArg('--timeout'), 3600)
    .action(async (dagId: string, opts: { date?: string; params?: Record<string, Json>; timeout: number }) => {
      const [{ withRuntime }, { runDagTest }] = await Promise.all([import('../runtime.ts'), import('../dag-test.ts')]);
      const date = opts.date ?? new Date().toISOString().slice(0, 10);
      await withRuntime((rt) => runDagTest(rt, dagId, { date, params: opts.params, timeoutSeconds: opts.timeout }));
    });

  dags
    .command('validate [file]')
    .description('check DAG definitions (DAGS_DIR, or one file) without a database: one line per problem, exit 2 when any')
    .action(async (file?: string) => {
      const { validateDags } = await import('../dag-test.ts');
      await validateDags(file);
    });
}
