/**
 * Named dashboard users, their roles and API tokens (tables dashboard_users / dashboard_tokens).
 * Passwords are hashed with argon2id (the `argon2` package, its defaults: 64 MiB, 3 passes); tokens
 * are `trib_<id>_<secret>` with 32 random bytes of secret, stored as sha256 — they are random, so a
 * fast hash suffices and a request checks one in microseconds. A new password or removal ends the
 * user's sessions; a role change applies at the user's next request (sessions read it live).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { TributaryError } from '../engine/errors.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who a request or command acts as. `token` is the shared DASHBOARD_TOKEN, `anonymous` auth off. */
export interface Principal {
  name: string;
  role: Role;
}

export const SHARED_TOKEN_USER = 'token';
const NAME = /^[a-z][a-z0-9._-]{0,63}$/;
const TOKEN = /^trib_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** tokens.last_used_at is written again only when older than this. */
const TOUCH_EVERY_MS = 60_000;

export interface UserRow {
  name: string;
  role: Role;
  hasPassword: boolean;
  createdAt: Date;
  tokens: number;
}

export interface TokenRow {
  id: string;
  userName: string;
  label: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
/** Loaded on the first password hashed or checked: a native module no other command needs. */
const argon2 = async () => (await import('argon2')).default;

export function checkRole(role: string): Role {
  if ((ROLES as readonly string[]).includes(role)) return role as Role;
  throw new TributaryError('ARGUMENT_INVALID', `role "${role}" is not one of ${ROLES.join(', ')}`);
}

export function checkUserName(name: string): string {
  if (name === SHARED_TOKEN_USER || name === 'anonymous' || !NAME.test(name)) {
    throw new TributaryError('ARGUMENT_INVALID', `user name "${name}" must be 1–64 of a-z 0-9 . _ - starting with a letter, and not "token" or "anonymous"`);
  }
  return name;
}

export class UserStore {
  constructor(private readonly pool: pg.Pool) {}

  async add(name: string, role: Role, password: string | null): Promise<void> {
    const hash = password === null ? null : await (await argon2()).hash(checkPassword(password));
    const { rowCount } = await this.pool.query(
      'INSERT INTO dashboard_users (name, role, password_hash) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
      [checkUserName(name), checkRole(role), hash],
    );
    if (rowCount === 0) throw new TributaryError('USER_EXISTS', `user "${name}" exists: \`trib users role\` or \`trib users password\` change it`);
  }

  async list(): Promise<UserRow[]> {
    const { rows } = await this.pool.query<UserRow>(
      `SELECT u.name, u.role, u.password_hash IS NOT NULL AS "hasPassword", u.created_at AS "createdAt",
              (SELECT count(*)::int FROM dashboard_tokens t WHERE t.user_name = u.name AND t.revoked_at IS NULL) AS tokens
       FROM dashboard_users u ORDER BY u.name`,
    );
    return rows;
  }

  async setRole(name: string, role: Role): Promise<void> {
    this.changed(name, await this.pool.query('UPDATE dashboard_users SET role = $2, updated_at = now() WHERE name = $1', [name, checkRole(role)]));
  }

  /** A new password (null: none, tokens only); every session of the user ends. Returns the sessions ended. */
  async setPassword(name: string, password: string | null): Promise<number> {
    const hash = password === null ? null : await (await argon2()).hash(checkPassword(password));
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      this.changed(name, await client.query('UPDATE dashboard_users SET password_hash = $2, updated_at = now() WHERE name = $1', [name, hash]));
      const { rowCount } = await client.query('UPDATE dashboard_sessions SET revoked_at = now() WHERE user_name = $1 AND revoked_at IS NULL', [name]);
      await client.query('COMMIT');
      return rowCount ?? 0;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Removes the user with its tokens and sessions. */
  async remove(name: string): Promise<void> {
    this.changed(name, await this.pool.query('DELETE FROM dashboard_users WHERE name = $1', [name]));
  }

  /** The user whose password this is; undefined for an unknown user, no password, or a wrong one. */
  async verifyPassword(name: string, password: string): Promise<Principal | undefined> {
    const { rows } = await this.pool.query<{ role: Role; hash: string | null }>(
      'SELECT role, password_hash AS hash FROM dashboard_users WHERE name = $1', [name],
    );
    const hash = rows[0]?.hash;
    if (!hash || !(await (await argon2()).verify(hash, password).catch(() => false))) return undefined;
    return { name, role: rows[0].role };
  }

  /** A new token for `user`; the only time its secret is seen. */
  async addToken(userName: string, label = ''): Promise<{ id: string; token: string }> {
    const id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const inserted = await this.pool.query(
      `INSERT INTO dashboard_tokens (id, user_name, label, secret_hash) SELECT $1, name, $3, $4 FROM dashboard_users WHERE name = $2`,
      [id, userName, label.slice(0, 200), sha256(secret).toString('hex')],
    );
    this.changed(userName, inserted);
    return { id, token: `trib_${id}_${secret}` };
  }

  async listTokens(userName?: string): Promise<TokenRow[]> {
    const { rows } = await this.pool.query<TokenRow>(
      `SELECT id, user_name AS "userName", label, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"
       FROM dashboard_tokens WHERE $1::text IS NULL OR user_name = $1 ORDER BY user_name, created_at`,
      [userName ?? null],
    );
    return rows;
  }

  async revokeToken(id: string): Promise<void> {
    const { rowCount } = await this.pool.query('UPDATE dashboard_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
    if (rowCount === 0) throw new TributaryError('TOKEN_NOT_FOUND', `no live token with id "${id}" (\`trib tokens list\` shows them)`);
  }

  /** The user of a live `trib_…` token; undefined for anything else. */
  async findToken(presented: string): Promise<Principal | undefined> {
    const match = TOKEN.exec(presented);
    if (!match) return undefined;
    const { rows } = await this.pool.query<{ name: string; role: Role; hash: string; lastUsedAt: Date | null }>(
      `SELECT u.name, u.role, t.secret_hash AS hash, t.last_used_at AS "lastUsedAt"
       FROM dashboard_tokens t JOIN dashboard_users u ON u.name = t.user_name WHERE t.id = $1 AND t.revoked_at IS NULL`,
      [match[1]],
    );
    const row = rows[0];
    if (!row || !timingSafeEqual(sha256(match[2]), Buffer.from(row.hash, 'hex'))) return undefined;
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
      await this.pool.query('UPDATE dashboard_tokens SET last_used_at = now() WHERE id = $1', [match[1]]);
    }
    return { name: row.name, role: row.role };
  }

  private changed(name: string, result: pg.QueryResult): void {
    if (result.rowCount === 0) throw new TributaryError('USER_NOT_FOUND', `no user "${name}" (\`trib users list\` shows them)`);
  }
}

function checkPassword(password: string): string {
  if (password.length < 12 || password.length > 1024) {
    throw new TributaryError('ARGUMENT_INVALID', 'a password needs 12 to 1024 characters');
  }
  return password;
}

/** A random password for `trib users add` when none is given (printed once). */
export const generatePassword = (): string => randomBytes(18).toString('base64url');
