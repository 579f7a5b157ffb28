/**
 * The mutation list `npm run test:mutations` (scripts/mutations.ts) checks: one-line breaks of key
 * lines, each with the tests that must fail when it is applied. `find` must occur exactly once in
 * `file` (the runner refuses the list otherwise, naming the entry), so an entry breaks loudly when
 * the code it names moves or changes. `find` and `replace` are each one line.
 */
export interface Mutation {
  /** Short, unique: what `--only` names. */
  id: string;
  /** Repository-relative path of the file to mutate. */
  file: string;
  /** Text occurring exactly once in `file`, on one line. */
  find: string;
  /** What `find` becomes (one line). */
  replace: string;
  /** Test files (`npx vitest run <tests>`) of which at least one must fail with the mutant in place. */
  tests: string[];
  /** The behaviour the mutated line guards, in a sentence. */
  guards: string;
}

const TRIGGER_SQL = 'db/migrations/0010_engine_functions.sql';
const TRIGGER_SQL_TEST = 'test/integration/engine/trigger-rules-sql.test.ts';

export const MUTATIONS: Mutation[] = [
  {
    id: 'load-postgres-warning',
    file: 'jobs/load/index.ts',
    find: 'if (lines.length === 0) return [];',
    replace: 'return [];',
    tests: ['test/integration/load/load-db-failure.test.ts'],
    guards: "rows Postgres refused (the table's own CHECK) are named in the run's warnings, not only in the audit table",
  },
  {
    id: 'test-temp-sweep',
    file: 'test/support/run-temp-dir.ts',
    find: 'if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;',
    replace: 'continue;',
    tests: ['test/unit/run-temp-dir.test.ts'],
    guards: "a test run's setup removes the temp folders of runs killed before their teardown",
  },
  {
    id: 'paths-roots-check',
    file: 'jobs/paths.ts',
    find: 'if (!realRoots.some((root) => isWithin(realPath, root))) {',
    replace: 'if (false) {',
    tests: ['test/integration/paths/load-swap-race.test.ts'],
    guards: 'openConfined refuses a file whose real location (after a swap) is outside the data roots',
  },
  {
    id: 'load-sensor-changed',
    file: 'jobs/load/source-file.ts',
    find: '} else if (seen && (stat.size !== seen.bytes || stat.mtimeMs !== seen.mtimeMs)) {',
    replace: '} else if (false) {',
    tests: ['test/integration/load/load-files-in-motion.test.ts'],
    guards: 'a load refuses (FILE_CHANGED) a file that changed since the sensor took it',
  },
  {
    id: 'load-refuse-check-violation',
    file: 'jobs/load/file-load.ts',
    find: '!/^(22|23502|23514)/.test(pg.code)',
    replace: '!/^(22|23502)/.test(pg.code)',
    tests: ['test/integration/load/load-db-failure.test.ts'],
    guards: 'a row Postgres refuses for a CHECK constraint (23514) is rejected per row, not failing the load',
  },
  {
    id: 'load-empty-replace',
    file: 'jobs/load/index.ts',
    find: 'if (deleted > 0 && loaded === 0 && !plan.options.allowEmpty) {',
    replace: 'if (false) {',
    tests: ['test/integration/load/load-empty.test.ts'],
    guards: 'a replace that would delete rows and load none fails with LOAD_EMPTY unless allowEmpty',
  },
  {
    id: 'retention-keeps-latest',
    file: 'engine/retention.ts',
    find: 'const ELIGIBLE = `${ENDED} AND ${SUPERSEDED}`;',
    replace: 'const ELIGIBLE = ENDED;',
    tests: ['test/integration/engine/retention-scheduler.test.ts'],
    guards: "retention keeps each DAG's latest run of each run type, however old",
  },
  {
    id: 'scheduler-stores-progress',
    file: 'engine/scheduler.ts',
    find: 'if (due.length > 0) await client.query(ADVANCE_SQL,',
    replace: 'if (false) await client.query(ADVANCE_SQL,',
    tests: ['test/integration/engine/retention-scheduler.test.ts'],
    guards: "a scheduler pass stores the schedule's progress on the DAG row, so retention never re-opens intervals",
  },
  {
    id: 'leases-per-attempt',
    file: 'engine/leases.ts',
    find: 'if (attempts?.size === 0) this.held.delete(instanceId);',
    replace: 'this.held.delete(instanceId);',
    tests: ['test/integration/engine/handover-lease.test.ts'],
    guards: 'ending one attempt of an instance keeps renewing the lease of its other attempt in this process',
  },
  {
    id: 'executor-handover-lease',
    file: 'engine/executor.ts',
    find: 'if (next) deps.leases.add(next.id, next.attempt);',
    replace: 'if (false) deps.leases.add(next.id, next.attempt);',
    tests: ['test/integration/engine/handover-lease.test.ts'],
    guards: 'a handed-over try is renewed from the COMMIT that claimed it, so a slow hook cannot let it be re-delivered',
  },
  {
    id: 'operator-interrupt-tries',
    file: 'engine/operator-sql.ts',
    find: "WHERE t.task_instance_id = ANY($1::bigint[]) AND t.state = 'running'",
    replace: 'WHERE false',
    tests: ['test/integration/engine/mark-clear-interrupt.test.ts'],
    guards: "mark and clear close the running try they interrupt ('interrupted', with an end time) in their transaction",
  },
  {
    id: 'trigger-all-success-skip',
    file: TRIGGER_SQL,
    find: "WHEN p_states && ARRAY['skipped'] THEN 'skip'",
    replace: "WHEN false THEN 'skip'",
    tests: [TRIGGER_SQL_TEST],
    guards: 'trib_decide: all_success skips when an upstream was skipped',
  },
  {
    id: 'trigger-all-done',
    file: TRIGGER_SQL,
    find: "WHEN p_rule = 'all_done' THEN CASE",
    replace: "WHEN p_rule = 'all_done' AND false THEN CASE",
    tests: [TRIGGER_SQL_TEST],
    guards: 'trib_decide: all_done runs once every upstream is terminal, whatever its outcome',
  },
  {
    id: 'trigger-one-failed-skip',
    file: TRIGGER_SQL,
    find: "WHEN p_states <@ ARRAY['success', 'failed', 'upstream_failed', 'skipped'] THEN 'skip'",
    replace: "WHEN p_states <@ ARRAY['success', 'failed', 'upstream_failed', 'skipped'] THEN 'wait'",
    tests: [TRIGGER_SQL_TEST],
    guards: 'trib_decide: one_failed skips once every upstream ended and none failed',
  },
  {
    id: 'trigger-none-failed',
    file: TRIGGER_SQL,
    find: "WHEN p_rule = 'all_success' THEN CASE",
    replace: "WHEN p_rule IN ('all_success', 'none_failed') THEN CASE",
    tests: [TRIGGER_SQL_TEST],
    guards: 'trib_decide: none_failed runs after skipped upstreams (it is not all_success)',
  },
  {
    id: 'trigger-reference-skip',
    file: 'test/support/trigger-rules.ts',
    find: "if (upstream.includes('skipped')) return 'skip';",
    replace: '',
    tests: ['test/unit/engine/trigger-rules.test.ts'],
    guards: "the TypeScript reference the SQL is compared with: all_success skips after a skipped upstream",
  },
];
