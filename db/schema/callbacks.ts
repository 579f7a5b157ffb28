/**
 * The callback outbox: one row per event a DAG or task has callbacks for, written in the same
 * transaction as the state change it reports (or, for a missed deadline, by the checker). The
 * unique `key` makes each event exist once, also with two schedulers; a deliverer claims pending
 * rows (SKIP LOCKED) after COMMIT and marks them delivered or failed.
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const callbackEvents = pgTable(
  'callback_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** e.g. `task:<run>:<task>:<map>:<try>:failure`, `run:<run>:<ended_at>:success`, `deadline:<dag>:<logical date>`. */
    key: text('key').notNull().unique('callback_events_key'),
    dagId: text('dag_id').notNull(),
    runId: bigint('run_id', { mode: 'number' }),
    /** '' for run and deadline events. */
    taskId: text('task_id').notNull().default(''),
    /** failure | success | retry | deadline_missed */
    event: text('event').notNull(),
    /** What the callbacks receive (dag, run, task, state, error, logical date). */
    payload: jsonb('payload').notNull().default(sql`'{}'::jsonb`),
    /** pending → delivered | failed (a callback threw after its retries). */
    state: text('state').notNull().default('pending'),
    error: text('error'),
    /** A deliverer holds the row until then; a crashed deliverer's rows are taken again after it. */
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [index('callback_events_pending').on(t.createdAt).where(sql`state = 'pending'`)],
);
