/**
 * Dashboard browser sessions in the database (table dashboard_sessions, db/schema/dashboard-sessions.ts).
 * `create` makes a row per login and returns the cookie's opaque id (32 random bytes; only its
 * sha256 is stored) and the session's CSRF token. `find` answers a live session only: not revoked,
 * not idle past `idle_expires_at`, not past `expires_at`, made with the current credential — and
 * moves `last_seen_at` / `idle_expires_at` on at most once a minute (one UPDATE, not one per request).
 * `revoke` / `revokeOthers` end sessions server-side; `list` shows the live ones, newest first.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type pg from 'pg';

export interface SessionLimits {
  /** DASHBOARD_SESSION_IDLE in ms. */
  idleMs: number;
  /** DASHBOARD_SESSION_MAX_AGE in ms. */
  maxAgeMs: number;
}

export interface Session {
  idHash: string;
  createdAt: Date;
  lastSeenAt: Date;
  address: string;
  userAgent: string;
  csrfToken: string;
}

/** last_seen_at is written again only when older than this. */
const TOUCH_EVERY_MS = 60_000;
const COLUMNS = `id_hash AS "idHash", created_at AS "createdAt", last_seen_at AS "lastSeenAt", address, user_agent AS "userAgent", csrf_token AS "csrfToken"`;
/** The condition of a live session; `credential` is the parameter holding the credential HMAC. */
const live = (credential: string) => `revoked_at IS NULL AND idle_expires_at > now() AND expires_at > now() AND credential = ${credential}`;

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

export class SessionStore {
  /** HMAC of the credential logins present: a changed DASHBOARD_TOKEN matches no existing row. */
  private readonly credential: string;

  constructor(private readonly pool: pg.Pool, credential: string, private readonly limits: SessionLimits) {
    this.credential = createHmac('sha256', 'tributary dashboard session').update(credential).digest('hex');
  }

  async create(from: { address: string; userAgent: string }): Promise<{ id: string; csrfToken: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    // Logins are rare: a good moment to forget sessions that ended over a week ago.
    await this.pool.query(`DELETE FROM dashboard_sessions WHERE least(revoked_at, idle_expires_at, expires_at) < now() - interval '7 days'`);
    await this.pool.query(
      `INSERT INTO dashboard_sessions (id_hash, idle_expires_at, expires_at, address, user_agent, credential, csrf_token)
       VALUES ($1, now() + $2 * interval '1 millisecond', now() + $3 * interval '1 millisecond', $4, $5, $6, $7)`,
      [hashId(id), this.limits.idleMs, this.limits.maxAgeMs, from.address.slice(0, 100), from.userAgent.slice(0, 400), this.credential, csrfToken],
    );
    return { id, csrfToken };
  }

  /** The live session of a cookie id, touched if last seen over a minute ago; undefined otherwise. */
  async find(id: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<Session>(`SELECT ${COLUMNS} FROM dashboard_sessions WHERE id_hash = $1 AND ${live('$2')}`, [hashId(id), this.credential]);
    const session = rows[0];
    if (session && Date.now() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await this.pool.query(
        `UPDATE dashboard_sessions SET last_seen_at = now(), idle_expires_at = least(expires_at, now() + $3 * interval '1 millisecond')
         WHERE id_hash = $1 AND ${live('$2')}`,
        [session.idHash, this.credential, this.limits.idleMs],
      );
    }
    return session;
  }

  /** Live sessions made with the current credential, newest first. */
  async list(): Promise<Session[]> {
    const { rows } = await this.pool.query<Session>(
      `SELECT ${COLUMNS} FROM dashboard_sessions WHERE ${live('$1')} ORDER BY created_at DESC, id_hash LIMIT 500`,
      [this.credential],
    );
    return rows;
  }

  /** Ends one session (by its stored hash); true when a live one was ended. */
  async revoke(idHash: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE dashboard_sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL`, [idHash]);
    return rowCount === 1;
  }

  /** Ends every live session but `keepIdHash`; the number ended. */
  async revokeOthers(keepIdHash: string): Promise<number> {
    const { rowCount } = await this.pool.query(
      `UPDATE dashboard_sessions SET revoked_at = now() WHERE id_hash <> $1 AND revoked_at IS NULL AND credential = $2`,
      [keepIdHash, this.credential],
    );
    return rowCount ?? 0;
  }
}
