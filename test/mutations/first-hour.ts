/** Mutation list, part: the first hour (issue 18) — triggers, `dags test` alone, finding a database, `trib init`. See test/mutations.ts. */
import type { Mutation } from '../mutations.ts';

const ALONE_TEST = 'test/integration/cli/dags-test-alone.test.ts';

export const FIRST_HOUR_MUTATIONS: Mutation[] = [
  {
    id: 'trigger-no-date-today',
    file: 'cli/commands/runs.ts',
    find: '{ date: opts.date, params: opts.params, triggeredBy: cliActor() }',
    replace: '{ date: opts.date ?? new Date().toISOString().slice(0, 10), params: opts.params, triggeredBy: cliActor() }',
    tests: ['test/integration/cli/trigger.test.ts'],
    guards: 'a trigger without --date makes a new manual run each time, never "already exists" for today',
  },
  {
    id: 'dags-test-own-schema',
    file: 'cli/dag-test.ts',
    find: 'return { schema: `${config.TRIBUTARY_SCHEMA}_test`, prefix: `${config.QUEUE_PREFIX}_test` };',
    replace: 'return { schema: config.TRIBUTARY_SCHEMA, prefix: config.QUEUE_PREFIX };',
    tests: [ALONE_TEST],
    guards: "`trib dags test` runs in its own engine schema and queues, so a standalone's workers never run its tasks",
  },
  {
    id: 'standalone-env-pid-alive',
    file: 'cli/find-database.ts',
    find: "if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null; // EPERM: alive, another user's",
    replace: '// (mutant: a dead standalone counts as running)',
    tests: [ALONE_TEST],
    guards: ".tributary/env is used only while the standalone that wrote it is alive",
  },
  {
    id: 'init-writes-env',
    file: 'cli/commands/init.ts',
    find: "'.env': ENV,",
    replace: '',
    tests: ['test/integration/cli/init-project.test.ts'],
    guards: 'a `trib init` project has a .env pointing trib at dags/, so commands there need no environment',
  },
  {
    id: 'runs-unregistered-dag',
    file: 'cli/commands/runs.ts',
    find: 'await requireRegisteredDag(pool, dagId);',
    replace: '',
    tests: ['test/integration/cli/cli.test.ts'],
    guards: '`trib runs` of a DAG no process registered is DAG_NOT_FOUND, not an empty list',
  },
];
