/**
 * Sample data from the command line: `tsx samples/cli.ts <w1|w2|w3> --dir D [--seed N] [--size N]
 * [--days N] [--start YYYY-MM-DD]` prints the truth summary as one JSON line; `w4-api [--port N]`
 * serves the fake API until Ctrl-C. Bad arguments: one line on stderr, exit code 2.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { TributaryError } from '../engine/errors.ts';
import { generateCustomerRatings } from './w1-customer-ratings.ts';
import { generateCreditPlatform } from './w2-credit-platform.ts';
import { generateMerchantActivity } from './w3-merchant-activity.ts';
import { startFakeTransactionsApi } from './w4-fake-api.ts';

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`not a number: ${value}`);
  return n;
}

interface GenerateFlags { dir: string; seed?: number; size?: number; days?: number; start?: string }

const GENERATORS = {
  w1: { what: 'W1 customer ratings: <agency>_YYYYMMDD.csv, --size rows per file', run: generateCustomerRatings },
  w2: { what: 'W2 credit platform: ten <table>_YYYYMMDD.csv, --size scale (1 = real counts)', run: generateCreditPlatform },
  w3: { what: 'W3 merchant activity: activities_YYYYMMDD.csv, --size rows per day', run: generateMerchantActivity },
} as const;

function program(): Command {
  const cli = new Command('samples').description('Deterministic sample data for the Tributary workloads').exitOverride();
  cli.configureOutput({ outputError: () => {}, writeErr: () => {} });
  for (const [name, g] of Object.entries(GENERATORS)) {
    cli
      .command(name)
      .description(g.what)
      .requiredOption('--dir <dir>', 'output directory (created if missing)')
      .option('--seed <n>', 'PRNG seed', number)
      .option('--size <n>', 'rows per file, or scale for w2', number)
      .option('--days <n>', 'number of days', number)
      .option('--start <date>', 'first day, YYYY-MM-DD')
      .action(async (flags: GenerateFlags) => {
        const truth = await g.run({ dir: flags.dir, seed: flags.seed, size: flags.size, days: flags.days, startDate: flags.start });
        console.log(JSON.stringify({ workload: truth.workload, dir: flags.dir, seed: truth.seed, size: truth.size, days: truth.days, truth: 'truth.json' }));
      });
  }
  cli
    .command('w4-api')
    .description('W4 fake transactions API on 127.0.0.1 (Ctrl-C stops it)')
    .option('--port <n>', 'port (0 = any free port)', number)
    .option('--seed <n>', 'PRNG seed', number)
    .option('--records <n>', 'records at start', number)
    .action(async (flags: { port?: number; seed?: number; records?: number }) => {
      const api = await startFakeTransactionsApi({ port: flags.port, seed: flags.seed, records: flags.records });
      console.log(JSON.stringify({ url: api.url, transactions: `${api.url}/transactions?page=1&page_size=100`, control: `${api.url}/_control` }));
      const stop = (): void => void api.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  return cli;
}

try {
  await program().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const line = err.code === 'commander.help' ? 'missing command: w1, w2, w3 or w4-api (--help for usage)' : err.message.replace(/^error: /, '');
    if (err.exitCode !== 0) console.error(`samples: ${line.replace(/\s*\n\s*/g, ' ')}`);
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof TributaryError && err.code === 'ARGUMENT_INVALID') {
    console.error(`samples: ${err.message}`);
    process.exit(2);
  }
  console.error(`samples: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
