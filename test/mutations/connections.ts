/** Mutation list, part: connections and exactly-once loads into a warehouse (issue 21 items 1 and 2). See test/mutations.ts. */
import type { Mutation } from '../mutations.ts';

const UNIT = 'test/unit/engine/connections.test.ts';
const KILL = 'test/integration/connections/inbox-kill.test.ts';
const CUT = 'test/integration/connections/inbox-commit-cut.test.ts';

export const CONNECTION_MUTATIONS: Mutation[] = [
  {
    id: 'warehouse-inbox-found',
    file: 'jobs/load/warehouse.ts',
    find: 'if (earlier) {',
    replace: 'if (earlier && false) {',
    tests: [KILL, CUT],
    guards: 'a delivery whose warehouse COMMIT landed but whose engine end did not ends from the inbox without loading again',
  },
  {
    id: 'connection-outage',
    file: 'jobs/sql/data-client.ts',
    find: "throw broken || isInfrastructure(err) ? outage(name, committing ? 'COMMIT failed (it may have landed)' : 'connection lost', err) : err;",
    replace: 'throw err;',
    tests: [CUT],
    guards: 'a warehouse connection lost (at COMMIT too) is an infrastructure retry of the same try',
  },
  {
    id: 'warehouse-keepalive',
    file: 'jobs/load/warehouse.ts',
    find: 'if (limitMs <= 0) return null;',
    replace: 'if (limitMs >= 0) return null;',
    tests: [KILL],
    guards: "a long warehouse load keeps the try's engine session alive past TASK_IDLE_TIMEOUT_MS",
  },
  {
    id: 'connections-file-mode',
    file: 'engine/connections.ts',
    find: 'if ((stat.mode & 0o077) !== 0) {',
    replace: 'if (false) {',
    tests: [UNIT],
    guards: 'a connections file readable by group or others is refused',
  },
  {
    id: 'connection-compile-check',
    file: 'engine/connections.ts',
    find: 'if (!connectionsConfigured()) return;',
    replace: 'return;',
    tests: [UNIT],
    guards: "an unknown connection name is a DAG error at load time where connections are configured",
  },
];
