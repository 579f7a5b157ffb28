/**
 * Browser sessions of the dashboard (dashboard/sessions.ts): one row per login. The cookie holds a
 * random id; only its sha256 is stored. A session ends when revoked (logout, the sessions page),
 * idle past `idle_expires_at`, past `expires_at`, or when the dashboard token changes
 * (`credential` no longer matches).
 */
import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { dashboardUsers } from './dashboard-users.ts';

export const dashboardSessions = pgTable(
  'dashboard_sessions',
  {
    /** sha256 (hex) of the id the cookie carries. */
    idHash: text('id_hash').primaryKey(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** last_seen_at + DASHBOARD_SESSION_IDLE, moved on with last_seen_at. */
    idleExpiresAt: timestamp('idle_expires_at', { withTimezone: true }).notNull(),
    /** created_at + DASHBOARD_SESSION_MAX_AGE: never moved. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** Source address and User-Agent of the login. */
    address: text('address').notNull(),
    userAgent: text('user_agent').notNull(),
    /** The named user (dashboard_users) the session is for; null: the shared DASHBOARD_TOKEN. */
    userName: text('user_name').references(() => dashboardUsers.name, { onDelete: 'cascade' }),
    /** HMAC of the credential the login presented: a changed DASHBOARD_TOKEN matches no session. */
    credential: text('credential').notNull(),
    /** The session's synchronizer CSRF token: forms and X-CSRF-Token must present it. */
    csrfToken: text('csrf_token').notNull(),
  },
  (t) => [index('dashboard_sessions_created').on(t.createdAt), index('dashboard_sessions_user').on(t.userName)],
);
