/**
 * `trib demo [dag] [--days N]`: on the stack `trib standalone` uses (embedded Postgres and BullMQ's
 * Postgres backend unless DATABASE_URL / REDIS_URL / QUEUE_BACKEND say otherwise), generates each
 * selected DAG's demo data, runs its days one after another in the demo's own database
 * (`<database>_demo`, workers/demo.ts) and prints what every run did.
 * Exits 0 when every run succeeded, 1 otherwise.
 */
import type { Command } from 'commander';
import { positiveIntArg } from '../args.ts';

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('generate a few days of data and run the shipped DAG(s) on it through the real engine')
    .argument('[dag]', 'the DAG whose demo to run (default: every shipped DAG\'s)')
    .option('--days <n>', 'days of data and runs per DAG', positiveIntArg('--days'), 3)
    .action(async (dagId: string | undefined, opts: { days: number }) => {
      const { runDemos } = await import('../demo-run.ts');
      await runDemos(dagId, opts.days);
    });
}
