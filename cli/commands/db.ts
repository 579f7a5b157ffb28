/** `trib db clean --older-than 30d [--dry-run] [--dag X]`: retention by hand (engine/retention.ts). */
import type { Command } from 'commander';
import { TributaryError } from '../../engine/errors.ts';
import { formatDate, table } from '../format.ts';

const UNIT_MS = { d: 86_400_000, h: 3_600_000 } as const;

/** `30d` or `12h` → milliseconds. */
export function ageArg(value: string): number {
  const m = /^(\d{1,6})([dh])$/.exec(value);
  if (!m) throw new TributaryError('ARGUMENT_INVALID', `--older-than "${value}" must be a number of days or hours, like 30d or 12h`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export function addDbCommands(program: Command): void {
  const db = program.command('db').description('maintain the database of record');
  db.command('clean')
    .description('delete runs that ended before a cutoff, with their tries, logs, results, reports and audit rows (in batches), and their inbox and refused rows on the warehouse connections defined here; each DAG\'s latest run of each type is kept')
    .requiredOption('--older-than <age>', 'age of the runs to delete, e.g. 30d or 12h', ageArg)
    .option('--dag <dag>', 'only this DAG\'s runs')
    .option('--dry-run', 'print the rows per table that would be deleted; delete nothing')
    .action(async (opts: { olderThan: number; dag?: string; dryRun?: boolean }) => {
      const [{ withRuntime }, { cleanRuns }, { audited }] = await Promise.all([
        import('../runtime.ts'), import('../../engine/retention.ts'), import('../audited.ts'),
      ]);
      await withRuntime(async ({ engine }) => {
        const before = new Date(Date.now() - opts.olderThan);
        const clean = () => cleanRuns(engine.pool, { before, dagId: opts.dag, dryRun: opts.dryRun === true });
        // A dry run changes nothing: only a real delete is an operator action for the audit log.
        const { deleted: counts, kept } = opts.dryRun ? await clean()
          : await audited(engine.pool, { action: 'db.clean', target: opts.dag ? `dag ${opts.dag}` : null, params: { before: before.toISOString() } }, clean);
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        const scope = opts.dag ? `runs of ${opts.dag}` : 'runs';
        console.log(`${scope} ended before ${formatDate(before)}${opts.dryRun ? ' (dry run: nothing deleted)' : ''}`);
        console.log(table(['TABLE', opts.dryRun ? 'ROWS TO DELETE' : 'ROWS DELETED'], [...counts].map(([t, n]) => [t, String(n)])));
        console.log(`${total} row(s) ${opts.dryRun ? 'would be deleted' : 'deleted'}`);
        if (kept > 0) console.log(`${kept} run(s) that ended before the cutoff kept: each is its DAG's latest run of its type`);
      });
    });
}
