/**
 * Dashboard access. Who a request is (a `Principal`: name and role, dashboard/users.ts):
 * - a named user's API token `Authorization: Bearer trib_<id>_<secret>` (`trib tokens add`), stateless;
 * - the shared DASHBOARD_TOKEN as Bearer or basic auth (any user, password = token): user `token`,
 *   role admin — unless DASHBOARD_AUTH=users, which accepts named users only;
 * - a browser session: log in once at /login with a user name and password (or the shared token with
 *   no user name) and get a session cookie (HttpOnly,
 * SameSite=Strict, an opaque id of a row in dashboard_sessions — dashboard/sessions.ts — never the
 * token). The session ends at logout, on the sessions page, idle past DASHBOARD_SESSION_IDLE, past
 * DASHBOARD_SESSION_MAX_AGE, or when DASHBOARD_TOKEN changes. Every state-changing request that is
 * not Bearer-authenticated must carry the CSRF token stored with its session (form field `_csrf`,
 * or header `X-CSRF-Token`); pages carry it in their forms and in `<meta name="csrf-token">`, no
 * cookie holds it. Without a session (basic auth, DASHBOARD_AUTH=off) the token is an HMAC of a
 * random nonce kept in an HttpOnly cookie. Comparisons are constant-time. Failed logins are limited
 * per source address (dashboard/request-guard.ts); a login body over 4 kB is refused (413).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Config } from '../engine/config.ts';
import { TributaryError } from '../engine/errors.ts';
import { loginPage } from './pages/login.ts';
import { sessionsPage } from './pages/sessions.ts';
import type { LoginLimiter } from './request-guard.ts';
import type { Session, SessionScope, SessionStore } from './sessions.ts';
import { SHARED_TOKEN_USER, type Principal, type UserStore } from './users.ts';

export const AUTH_COOKIE = 'tributary_session';
/** The nonce the session-less CSRF token is made from (HttpOnly: script never reads it). */
const NONCE_COOKIE = 'tributary_csrf_nonce';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const COOKIE = { httpOnly: true, sameSite: 'strict', path: '/' } as const;

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The secret a request presents in its Authorization header, if any, and how. */
function presented(header: string | undefined): { scheme: 'bearer' | 'basic'; secret: string } | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (bearer) return { scheme: 'bearer', secret: bearer[1].trim() };
  const basic = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? { scheme: 'basic', secret: decoded.slice(colon + 1) } : undefined;
}

/** Where a login may send the browser back to: a path on this server only. */
function localPath(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : '/';
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** The CSRF token pages put in their forms. */
    csrf: string;
    /** The browser session of the request, when it came with one. */
    session?: Session;
    /** Who the request acts as; set once it passed the login check. */
    principal?: Principal;
    /** A login attempt's user name (audit log), set by POST /login. */
    loginUser?: string;
  }
}

export interface AuthOptions {
  /** The shared DASHBOARD_TOKEN; null only when auth is off. */
  token: string | null;
  limiter: LoginLimiter;
  /** Null exactly when auth is off. */
  sessions: SessionStore | null;
  users: UserStore | null;
  /** DASHBOARD_AUTH=users: the shared token is refused everywhere. */
  usersOnly: boolean;
}

const ANONYMOUS: Principal = { name: 'anonymous', role: 'admin' };
const SHARED: Principal = { name: SHARED_TOKEN_USER, role: 'admin' };

/** Whose sessions a principal may list and revoke: an admin's are everyone's. */
const scopeOf = (p: Principal): SessionScope => (p.role === 'admin' && p.name !== SHARED_TOKEN_USER ? 'all' : { owner: p.name === SHARED_TOKEN_USER ? null : p.name });

/**
 * `/login` and `/logout`, the guard for everything after it, and `/sessions`. `null` token = auth
 * explicitly off (DASHBOARD_AUTH=off): no login and no sessions (everyone is `anonymous`, admin), but
 * state-changing requests still need their CSRF token.
 */
export function authRouter({ token, limiter, sessions, users, usersOnly }: AuthOptions): Router {
  const sharedToken = usersOnly ? null : token;
  /** The principal an Authorization header proves, if any. */
  const byHeader = async (header: ReturnType<typeof presented>): Promise<Principal | undefined> => {
    if (!header) return undefined;
    if (header.scheme === 'bearer' && header.secret.startsWith('trib_')) return users?.findToken(header.secret);
    return sharedToken !== null && sameSecret(header.secret, sharedToken) ? SHARED : undefined;
  };
  // Keys the session-less CSRF tokens; per process, so a restart only re-renders forms.
  const csrfKey = randomBytes(32);
  const router = express.Router();
  // As large as the UI's own form parser (dashboard/ui.ts): the CSRF check reads the body first.
  const form = express.urlencoded({ extended: false, limit: '256kb' });
  const loginForm = express.urlencoded({ extended: false, limit: '4kb' });

  router.get('/login', (req, res) => {
    res.type('html').send(loginPage({ next: localPath(req.query.next) }));
  });
  router.post('/login', (req, res, next) => {
    const wait = limiter.retryAfter(req.socket.remoteAddress ?? '');
    if (wait === 0) return next();
    res.status(429).set('Retry-After', String(wait)).type('html')
      .send(loginPage({ next: '/', error: `Too many failed logins from this address: try again in ${wait} s.` }));
  }, loginForm, async (req, res, next) => {
    const target = localPath(req.body?.next);
    const given = typeof req.body?.token === 'string' ? req.body.token : '';
    const user = typeof req.body?.user === 'string' ? req.body.user.trim() : '';
    res.locals.loginUser = user || SHARED_TOKEN_USER;
    if (token === null || sessions === null) return void res.redirect(303, target);
    try {
      const principal = user ? await users?.verifyPassword(user, given) : sharedToken !== null && sameSecret(given, sharedToken) ? SHARED : undefined;
      if (!principal) {
        limiter.failed(req.socket.remoteAddress ?? '');
        const error = user ? 'Wrong user name or password.' : usersOnly ? 'Sign in with your user name and password.' : 'That token is not the dashboard token.';
        res.status(401).type('html').send(loginPage({ next: target, error, user }));
        return;
      }
      res.locals.principal = principal;
      const { id } = await sessions.create({ address: req.socket.remoteAddress ?? '', userAgent: req.get('user-agent') ?? '', user: user || undefined });
      res.cookie(AUTH_COOKIE, id, COOKIE);
      res.redirect(303, target);
    } catch (err) {
      next(err);
    }
  });

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const header = presented(req.headers.authorization);
    const cookie = readCookie(req.headers.cookie, AUTH_COOKIE);
    let fromHeader: Principal | undefined;
    let session: Session | undefined;
    try {
      fromHeader = await byHeader(header);
      session = !fromHeader && cookie !== undefined && sessions ? await sessions.find(cookie) : undefined;
    } catch (err) {
      return next(err);
    }
    if (token !== null && !fromHeader && session === undefined) return unauthorized(req, res, usersOnly);
    res.locals.session = session;
    res.locals.principal = token === null ? ANONYMOUS : (fromHeader ?? session?.principal);
    // Bearer requests (scripts) need no CSRF token: they get no cookie either.
    if (fromHeader && header?.scheme === 'bearer') return (res.locals.csrf = '', next());
    res.locals.csrf = session ? session.csrfToken : sessionlessCsrf(req, res, csrfKey);
    if (SAFE_METHODS.has(req.method)) return next();
    const sent = req.get('x-csrf-token');
    if (sent !== undefined && sameSecret(sent, res.locals.csrf)) return next();
    // A form post: read its body here so `_csrf` can be checked before any route sees it.
    form(req, res, (err?: unknown) => {
      if (err) return next(err);
      const field = (req.body as Record<string, unknown> | undefined)?._csrf;
      if (typeof field === 'string' && sameSecret(field, res.locals.csrf)) return next();
      res.status(403).json({ error: 'CSRF_INVALID', message: `${req.method} ${req.path} needs the CSRF token of your session (form field _csrf or header X-CSRF-Token)` });
    });
  });

  router.post('/logout', async (_req, res, next) => {
    try {
      if (res.locals.session && sessions) await sessions.revoke(res.locals.session.idHash, 'all');
    } catch (err) {
      return next(err);
    }
    res.clearCookie(AUTH_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  });
  router.get('/sessions', async (_req, res, next) => {
    try {
      const scope = res.locals.principal ? scopeOf(res.locals.principal) : { owner: null };
      const list = sessions ? await sessions.list(scope) : [];
      res.type('html').send(sessionsPage({ sessions: list, current: res.locals.session?.idHash, csrf: res.locals.csrf, authOff: sessions === null, all: scope === 'all' }));
    } catch (err) {
      next(err);
    }
  });
  router.post('/sessions/revoke', form, async (req, res, next) => {
    const idHash = typeof req.body?.session === 'string' ? req.body.session : '';
    const current = res.locals.session?.idHash;
    try {
      if (sessions && res.locals.session && req.body?.others === '1') await sessions.revokeOthers(res.locals.session);
      else if (sessions && res.locals.principal && /^[0-9a-f]{64}$/.test(idHash)) await sessions.revoke(idHash, scopeOf(res.locals.principal));
    } catch (err) {
      return next(err);
    }
    if (current !== undefined && idHash === current) {
      res.clearCookie(AUTH_COOKIE, { path: '/' });
      return void res.redirect(303, '/login');
    }
    res.redirect(303, '/sessions');
  });
  return router;
}

/** The CSRF token of a request without a session: HMAC of the nonce in its HttpOnly cookie (set when missing). */
function sessionlessCsrf(req: Request, res: Response, key: Buffer): string {
  let nonce = readCookie(req.headers.cookie, NONCE_COOKIE);
  if (!nonce || !/^[0-9a-f]{32}$/.test(nonce)) {
    nonce = randomBytes(16).toString('hex');
    res.cookie(NONCE_COOKIE, nonce, COOKIE);
  }
  return createHmac('sha256', key).update(`csrf:${nonce}`).digest('base64url');
}

/** A browser asking for a page goes to the login form; everything else gets a 401 JSON answer. */
function unauthorized(req: Request, res: Response, usersOnly: boolean): void {
  if (req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  res.set('WWW-Authenticate', 'Basic realm="tributary", charset="UTF-8"');
  const how = usersOnly ? 'Authorization: Bearer <your API token> (`trib tokens add <user>`)'
    : 'Authorization: Bearer <your API token or DASHBOARD_TOKEN> (or basic auth, password = DASHBOARD_TOKEN)';
  res.status(401).json({ error: 'UNAUTHORIZED', message: `log in at /login, or send ${how}` });
}

/**
 * The token the dashboard must require, or null when DASHBOARD_AUTH=off; refuses to run open by
 * accident. With DASHBOARD_AUTH=users no shared token is needed: a random one keys the sessions and
 * is never accepted (the dashboard gets `usersOnly`).
 */
export function dashboardToken(config: Pick<Config, 'DASHBOARD_TOKEN' | 'DASHBOARD_AUTH'>): string | null {
  if (config.DASHBOARD_AUTH === 'off') return null;
  if (config.DASHBOARD_AUTH === 'users') return config.DASHBOARD_TOKEN ?? randomBytes(24).toString('hex');
  if (!config.DASHBOARD_TOKEN) {
    throw new TributaryError(
      'CONFIG_INVALID',
      'DASHBOARD_TOKEN is required for the dashboard (at least 16 characters, e.g. `openssl rand -hex 24`), or set DASHBOARD_AUTH=off',
    );
  }
  return config.DASHBOARD_TOKEN;
}
