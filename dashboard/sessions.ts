/**
 * Dashboard browser sessions in the database (table dashboard_sessions, db/schema/dashboard-sessions.ts).
 * `create` makes a row per login and returns the cookie's opaque id (32 random bytes; only its
 * sha256 is stored) and the session's CSRF token. `find` answers a live session only: not revoked,
 * not idle past `idle_expires_at`, not past `expires_at`, made with the current credential — and
 * moves `last_seen_at` / `idle_expires_at` on at most once a minute (one UPDATE, not one per request).
 * A session belongs to a named user (`user_name`, whose role is read live: a role change applies at
 * once, a removed user's sessions go with it) or, when null, to the shared DASHBOARD_TOKEN (role admin).
 * `revoke` / `revokeOthers` end sessions server-side, within an owner's scope unless admin; `list`
 * shows the live ones, newest first.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { SHARED_TOKEN_USER, type Principal, type Role } from './users.ts';

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
  /** The session's user and role (role read at this request). */
  principal: Principal;
}

/** Whose sessions a list or revoke may touch: one owner's (null = the shared token's), or all (admin). */
export type SessionScope = { owner: string | null } | 'all';

/** last_seen_at is written again only when older than this. */
const TOUCH_EVERY_MS = 60_000;
const COLUMNS = `s.id_hash AS "idHash", s.created_at AS "createdAt", s.last_seen_at AS "lastSeenAt", s.address, s.user_agent AS "userAgent",
  s.csrf_token AS "csrfToken", s.user_name AS "userName", coalesce(u.role, 'admin') AS role`;
const FROM = 'dashboard_sessions s LEFT JOIN dashboard_users u ON u.name = s.user_name';
/**
 * The condition of a live session; `credential` is the parameter holding the shared token's HMAC,
 * which a token session must match (a user's session ends by revocation or the user's removal).
 */
const live = (credential: string) =>
  `s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.expires_at > now() AND (s.user_name IS NULL AND s.credential = ${credential} OR u.name IS NOT NULL)`;
/** The scope condition on parameter `$n` (the owner; null = the shared token). */
const owned = (param: string) => `s.user_name IS NOT DISTINCT FROM ${param}`;

type SessionRow = Omit<Session, 'principal'> & { userName: string | null; role: Role };
const toSession = ({ userName, role, ...row }: SessionRow): Session => ({ ...row, principal: { name: userName ?? SHARED_TOKEN_USER, role } });

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

export class SessionStore {
  /** HMAC of the credential logins present: a changed DASHBOARD_TOKEN matches no existing row. */
  private readonly credential: string;

  constructor(private readonly pool: pg.Pool, credential: string, private readonly limits: SessionLimits) {
    this.credential = createHmac('sha256', 'tributary dashboard session').update(credential).digest('hex');
  }

  /** A session for `user` (undefined: the shared token). */
  async create(from: { address: string; userAgent: string; user?: string }): Promise<{ id: string; csrfToken: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    // Logins are rare: a good moment to forget sessions that ended over a week ago.
    await this.pool.query(`DELETE FROM dashboard_sessions WHERE least(revoked_at, idle_expires_at, expires_at) < now() - interval '7 days'`);
    await this.pool.query(
      `INSERT INTO dashboard_sessions (id_hash, idle_expires_at, expires_at, address, user_agent, credential, csrf_token, user_name)
       VALUES ($1, now() + $2 * interval '1 millisecond', now() + $3 * interval '1 millisecond', $4, $5, $6, $7, $8)`,
      [hashId(id), this.limits.idleMs, this.limits.maxAgeMs, from.address.slice(0, 100), from.userAgent.slice(0, 400), this.credential, csrfToken, from.user ?? null],
    );
    return { id, csrfToken };
  }

  /** The live session of a cookie id, touched if last seen over a minute ago; undefined otherwise. */
  async find(id: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<SessionRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE s.id_hash = $1 AND ${live('$2')}`, [hashId(id), this.credential]);
    const session = rows[0] && toSession(rows[0]);
    if (session && Date.now() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await this.pool.query(
        `UPDATE dashboard_sessions SET last_seen_at = now(), idle_expires_at = least(expires_at, now() + $2 * interval '1 millisecond')
         WHERE id_hash = $1 AND revoked_at IS NULL`,
        [session.idHash, this.limits.idleMs],
      );
    }
    return session;
  }

  /** Live sessions in `scope`, newest first. */
  async list(scope: SessionScope): Promise<Session[]> {
    const { rows } = await this.pool.query<SessionRow>(
      `SELECT ${COLUMNS} FROM ${FROM} WHERE ${live('$1')} AND ($2 OR ${owned('$3')}) ORDER BY s.created_at DESC, s.id_hash LIMIT 500`,
      [this.credential, scope === 'all', scope === 'all' ? null : scope.owner],
    );
    return rows.map(toSession);
  }

  /** Ends one session of `scope` (by its stored hash); true when a live one was ended. */
  async revoke(idHash: string, scope: SessionScope): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE dashboard_sessions s SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL AND ($2 OR ${owned('$3')})`,
      [idHash, scope === 'all', scope === 'all' ? null : scope.owner],
    );
    return rowCount === 1;
  }

  /** Ends every live session of the owner of `keep` but `keep` itself; the number ended. */
  async revokeOthers(keep: Session): Promise<number> {
    const owner = keep.principal.name === SHARED_TOKEN_USER ? null : keep.principal.name;
    const { rowCount } = await this.pool.query(
      `UPDATE dashboard_sessions s SET revoked_at = now() WHERE id_hash <> $1 AND revoked_at IS NULL AND ${owned('$2')}`,
      [keep.idHash, owner],
    );
    return rowCount ?? 0;
  }
}
