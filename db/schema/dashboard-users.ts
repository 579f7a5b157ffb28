/**
 * Named dashboard users and their API tokens (dashboard/users.ts; `trib users`, `trib tokens`).
 * A user has one role — viewer (reads), operator (reads and acts), admin (also sees every user's
 * sessions and the users) — and a password hashed with argon2id, or none (a user for scripts, with
 * tokens only). A token is `trib_<id>_<secret>`: `id` is stored as is, the secret only as its sha256.
 * Removing a user removes its tokens and sessions (cascade).
 */
import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const dashboardUsers = pgTable(
  'dashboard_users',
  {
    name: text('name').primaryKey(),
    role: text('role').notNull(),
    /** argon2id PHC string; null: no password login (tokens only). */
    passwordHash: text('password_hash'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('dashboard_users_role', sql`${t.role} IN ('viewer', 'operator', 'admin')`)],
);

export const dashboardTokens = pgTable(
  'dashboard_tokens',
  {
    id: text('id').primaryKey(),
    userName: text('user_name').notNull().references(() => dashboardUsers.name, { onDelete: 'cascade' }),
    label: text('label').notNull().default(''),
    /** sha256 (hex) of the token's secret part. */
    secretHash: text('secret_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('dashboard_tokens_user').on(t.userName)],
);
