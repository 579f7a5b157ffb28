/** Mutation list, part: connections, exactly-once loads into a warehouse and DAG versions (issue 21), Redis Cluster. See test/mutations.ts. */
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
    tests: [CUT, 'test/integration/connections/warehouse-restart.test.ts'],
    guards: 'a warehouse connection lost (at COMMIT, or by a server restart mid-load) is an infrastructure retry of the same try',
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
  {
    id: 'attempt-other-version-recorded',
    file: 'engine/executor.ts',
    find: 'if (claimed.run_dag_version !== null && claimed.run_dag_version !== dag.version) await recordOtherVersion(deps.pool, claimed, dag, log);',
    replace: '',
    tests: ['test/integration/engine/dag-version.test.ts'],
    guards: 'a try run by a worker with another DAG version than its run records the version it ran',
  },
  {
    id: 'warehouse-inbox-row',
    file: 'jobs/load/warehouse.ts',
    find: '    await db.insert(loadInbox).values({',
    replace: '    if (false) await db.insert(loadInbox).values({',
    tests: ['test/reliability/multi-host.test.ts'],
    guards: 'every load into a warehouse commits its inbox row with its rows (scheduler, two workers and the warehouse killed or restarted mid-day)',
  },
  {
    id: 'secret-result-masked',
    file: 'engine/executor.ts',
    find: 'result: maskTaskSecrets(log, outcome as Json)',
    replace: 'result: outcome as Json',
    tests: ['test/integration/engine/secret-result-mask.test.ts'],
    guards: "a handler that returns a secret param's value does not store it in the try's result",
  },
  {
    id: 'secret-error-masked',
    file: 'engine/attempt-end.ts',
    find: 'const message = maskTaskSecrets(a.log, describeError(err));',
    replace: 'const message = describeError(err);',
    tests: ['test/integration/engine/secret-result-mask.test.ts'],
    guards: "a handler that throws a secret param's value does not store it in the try's error",
  },
  {
    id: 'redis-cluster-hash-tag',
    file: 'engine/queues.ts',
    find: 'return /^[^{]*\\{[^}]+\\}/.test(prefix);',
    replace: 'return true;',
    tests: ['test/integration/engine/redis-cluster.test.ts'],
    guards: 'on a Redis Cluster a QUEUE_PREFIX without a {hash tag} is refused before anything is queued',
  },
  {
    id: 'redis-cluster-client',
    file: 'engine/queues.ts',
    find: '    if (options.cluster) {',
    replace: '    if (false as boolean) {',
    tests: ['test/integration/engine/redis-cluster.test.ts'],
    guards: 'with REDIS_CLUSTER=true the queues and workers use a cluster client (chain, fan-out, sensor on a real 3-master cluster)',
  },
];
