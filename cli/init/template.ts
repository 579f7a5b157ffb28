/**
 * The files `trib init` writes: a project depending on tributary with one example DAG (sensor →
 * load → validate → report) over a sample CSV it ships, ready for `npm install && npx trib standalone`.
 */

/** A small orders file: the example DAG loads it, checks it and reports on it. */
export const SAMPLE_ORDERS = [
  'order_id,customer,amount,status',
  '1001,acme,120.50,shipped',
  '1002,globex,75.00,new',
  '1003,initech,310.25,shipped',
  '1004,acme,42.10,cancelled',
  '1005,umbrella,99.99,new',
  '',
].join('\n');

export const EXAMPLE_DAG = `/**
 * example: wait for orders files in data/incoming, load them into \`orders\` (refused rows go to
 * audit.orders_rejects), check them, and write a summary per status to reports/.
 * Every option is described in the tributary reference docs (docs/reference/<kind>.md).
 */
import { defineDag, z } from 'tributary';

export default defineDag({
  id: 'example',
  description: 'orders CSV → orders table → checks → summary report',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  params: {
    dataDir: z.string().default('data/incoming').describe('Folder the orders files land in'),
    reportDir: z.string().default('reports').describe('Folder the summary report is written to'),
  },
  // Folders this DAG may read and write, relative to where trib runs.
  dataRoots: ['data', 'reports'],
  tasks: {
    wait: {
      kind: 'sensor',
      options: { dir: '{params.dataDir}', filePattern: '*.csv', stableForMs: 2_000, pokeIntervalMs: 5_000, timeoutMs: 3_600_000 },
    },
    load: {
      kind: 'load',
      upstream: ['wait'],
      mapOver: { task: 'wait', path: 'files' }, // one load per file found
      retries: 1,
      options: {
        source: { fromUpstream: { task: 'wait' } },
        target: 'orders',
        mode: 'upsert',
        key: ['order_id'],
        columns: [
          { name: 'order_id', type: 'integer', required: true, min: 1 },
          { name: 'customer', type: 'text', required: true, maxLength: 100 },
          { name: 'amount', type: 'numeric', precision: 12, scale: 2, min: 0 },
          { name: 'status', type: 'text', required: true },
        ],
        rejectLimit: { fail: { ratio: 0.1 } }, // more than 10% of a file refused fails the load
      },
    },
    check: {
      kind: 'validate',
      upstream: ['load'],
      options: {
        checks: [
          { name: 'order_id_unique', kind: 'unique', table: 'orders', columns: ['order_id'] },
          { name: 'status_known', kind: 'accepted_values', table: 'orders', column: 'status', values: ['new', 'shipped', 'cancelled'] },
        ],
      },
    },
    report: {
      kind: 'report',
      upstream: ['check'],
      options: {
        query: 'SELECT status, count(*) AS orders, sum(amount) AS amount FROM orders GROUP BY status ORDER BY status',
        outputDir: '{params.reportDir}',
        fileName: 'orders_summary_{yyyymmdd}.csv',
      },
    },
  },
});
`;

export const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      skipLibCheck: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      types: ['node'],
    },
    include: ['dags', 'kinds'],
  },
  null,
  2,
)}\n`;

export const ENV_EXAMPLE = `# \`trib\` reads .env from the folder it runs in; a variable already set in the environment wins.
# \`trib init\` wrote a .env with DAGS_DIR; on a fresh clone copy this file to .env. With no DATABASE_URL,
# \`trib\` uses a running \`trib standalone\`'s database, or starts the embedded Postgres in .tributary/.
DAGS_DIR=dags
# DATABASE_URL=postgres://tributary:secret@localhost:5432/tributary
# REDIS_URL=redis://localhost:6379
# DASHBOARD_TOKEN=change-me-to-16-or-more-characters
`;

/** The project's own settings, read by every \`trib\` command run in it (kept out of git: secrets go here too). */
export const ENV = `# Read by \`trib\` in this folder; a variable already set in the environment wins. See .env.example.
DAGS_DIR=dags
`;

export const GITIGNORE = 'node_modules\n.tributary\nreports\n.env\n';

/**
 * `devDependencies`: typescript (and Node's types) for `npm run typecheck` — DAG options are typed
 * by their kind, so a misspelt option is a compile error. `allowScripts`: npm runs no install
 * scripts it was not told to, and embedded Postgres needs its postinstall (executable binaries)
 * for `trib standalone`.
 */
export function packageJson(
  name: string, tributary: string, devDependencies: Record<string, string>, allowScripts: Record<string, boolean>,
): string {
  return `${JSON.stringify(
    {
      name,
      private: true,
      type: 'module',
      scripts: {
        standalone: 'DAGS_DIR=dags trib standalone',
        scheduler: 'DAGS_DIR=dags trib scheduler',
        worker: 'DAGS_DIR=dags trib worker',
        typecheck: 'tsc --noEmit',
      },
      dependencies: { tributary },
      devDependencies,
      allowScripts,
    },
    null,
    2,
  )}\n`;
}
