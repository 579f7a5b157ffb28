/**
 * The audit log (engine/audit-log.ts): one row per operator action and per login attempt, from the
 * dashboard (UI, API, bull-board) and the CLI — who (`actor`: a user name, `token` for the shared
 * DASHBOARD_TOKEN, `cli:<os user>`, `-` when unauthenticated), their role, through what, from where,
 * what on which target, with the request's parameters (secrets redacted), and how it ended.
 */
import { bigserial, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    role: text('role'),
    /** ui | api | board | cli */
    via: text('via').notNull(),
    /** e.g. login, trigger, clear, mark, pause, backfill, queue, users.add */
    action: text('action').notNull(),
    /** e.g. `dag orders`, `run 12 task load`. */
    target: text('target'),
    params: jsonb('params'),
    /** ok | refused | failed */
    outcome: text('outcome').notNull(),
    /** HTTP status; null from the CLI. */
    status: integer('status'),
    /** Source address (dashboard) or host name (CLI). */
    address: text('address'),
    /** The refusal or failure, one line. */
    detail: text('detail'),
  },
  (t) => [index('audit_events_actor').on(t.actor, t.id), index('audit_events_action').on(t.action, t.id)],
);
