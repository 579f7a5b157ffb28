/** Mutation list, part: a task's log — the engine's derived lines (engine/sql/task-log.sql), the page cursor, the start not stored. See test/mutations.ts. */
import type { Mutation } from '../mutations.ts';

const TASK_LOG_TEST = 'test/integration/engine/task-log.test.ts';

export const TASK_LOG_MUTATIONS: Mutation[] = [
  {
    id: 'task-log-later-attempts',
    file: 'engine/sql/task-log.sql',
    find: '  FROM attempts a WHERE a.attempt > 1',
    replace: '  FROM attempts a WHERE a.attempt > 2',
    tests: [TASK_LOG_TEST],
    guards: "a task's log shows `try started` for every attempt after the first (a delivery after a lost worker), from its attempt row",
  },
  {
    id: 'task-log-success-only',
    file: 'engine/sql/task-log.sql',
    find: "  FROM attempts a WHERE a.state = 'success'",
    replace: "  FROM attempts a WHERE a.state <> 'lost'",
    tests: [TASK_LOG_TEST],
    guards: 'a task\'s log shows `try succeeded` only for the attempt that succeeded, never for a failed one',
  },
  {
    id: 'task-log-start-ms',
    file: 'engine/sql/task-log.sql',
    find: "    date_trunc('milliseconds', t.started_at), 0, t.id",
    replace: '    t.started_at, 0, t.id',
    tests: [TASK_LOG_TEST],
    guards: "a try's derived start is cut to the millisecond, as stored lines are: no line of the try is ordered before it",
  },
  {
    id: 'log-cursor-strictly-older',
    file: 'dashboard/ui-queries.ts',
    find: "     WHERE ($3::bigint IS NULL OR (at, rank, line_id) < ('epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4::int, $5::bigint))",
    replace: "     WHERE ($3::bigint IS NULL OR (at, rank, line_id) <= ('epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4::int, $5::bigint))",
    tests: [TASK_LOG_TEST],
    guards: 'the older page of a log starts strictly before the cursor: each line once across pages',
  },
  {
    id: 'log-cursor-microseconds',
    file: 'dashboard/ui-queries.ts',
    find: "    `SELECT (extract(epoch FROM at) * 1000000)::bigint || '-' || rank || '-' || line_id AS cursor,",
    replace: "    `SELECT (extract(epoch FROM at) * 1000)::bigint * 1000 || '-' || rank || '-' || line_id AS cursor,",
    tests: [TASK_LOG_TEST],
    guards: 'a log cursor keeps the line time to the microsecond (a line written by SQL now()): no line skipped between pages',
  },
  {
    id: 'executor-start-not-stored',
    file: 'engine/executor.ts',
    find: "    if (claimed.pokes === 0) deps.log.info(bindings, 'try started');",
    replace: "    if (claimed.pokes === 0) log.info('try started');",
    tests: [TASK_LOG_TEST],
    guards: "a try's start is derived from its try row, not stored as a line too (it would be shown twice, and cost a row per try)",
  },
];
