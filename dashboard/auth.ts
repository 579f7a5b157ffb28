/**
 * Dashboard access: `Authorization: Bearer <token>` or basic auth (any user, password = token) for
 * the API and scripts; browsers log in once at /login and get a session cookie (HttpOnly,
 * SameSite=Strict, `<nonce>.<HMAC>`, never the token). Every state-changing request that is not
 * Bearer-authenticated must carry the CSRF token of its session (form field `_csrf`, or header
 * `X-CSRF-Token` / `X-XSRF-Token` — the latter is what bull-board's axios sends from the
 * `XSRF-TOKEN` cookie). Comparisons are constant-time. Failed logins are limited per source
 * address (dashboard/request-guard.ts); a login body over 4 kB is refused (413, by the error handler).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Config } from '../engine/config.ts';
import { TributaryError } from '../engine/errors.ts';
import { loginPage } from './pages/login.ts';
import type { LoginLimiter } from './request-guard.ts';

export const AUTH_COOKIE = 'tributary_session';
export const CSRF_COOKIE = 'XSRF-TOKEN';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
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
  }
}

/** Signs session and CSRF tokens with the dashboard token (or a per-process secret when auth is off). */
class Signer {
  private readonly key: string;
  constructor(token: string | null) {
    this.key = token ?? randomBytes(32).toString('hex');
  }
  sign(purpose: 'session' | 'csrf', nonce: string): string {
    return `${nonce}.${createHmac('sha256', this.key).update(`${purpose}:${nonce}`).digest('hex')}`;
  }
  /** The nonce of a value this signer made for `purpose`, or undefined. */
  nonceOf(purpose: 'session' | 'csrf', value: string | undefined): string | undefined {
    const nonce = value?.split('.')[0];
    return nonce && /^[0-9a-f]{32}$/.test(nonce) && sameSecret(value!, this.sign(purpose, nonce)) ? nonce : undefined;
  }
}

const newNonce = () => randomBytes(16).toString('hex');

function setCsrfCookie(res: Response, value: string): void {
  res.cookie(CSRF_COOKIE, value, { sameSite: 'strict', path: '/' });
}

/**
 * `/login` and `/logout`, then the guard for everything after it. `null` token = auth explicitly
 * off (DASHBOARD_AUTH=off): no login, but state-changing requests still need their CSRF token.
 */
export function authRouter(token: string | null, limiter: LoginLimiter): Router {
  const signer = new Signer(token);
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const loginForm = express.urlencoded({ extended: false, limit: '4kb' });

  router.get('/login', (req, res) => {
    res.type('html').send(loginPage({ next: localPath(req.query.next) }));
  });
  router.post('/login', (req, res, next) => {
    const wait = limiter.retryAfter(req.socket.remoteAddress ?? '');
    if (wait === 0) return next();
    res.status(429).set('Retry-After', String(wait)).type('html')
      .send(loginPage({ next: '/', error: `Too many failed logins from this address: try again in ${wait} s.` }));
  }, loginForm, (req, res) => {
    const next = localPath(req.body?.next);
    const given = typeof req.body?.token === 'string' ? req.body.token : '';
    if (token !== null && !sameSecret(given, token)) {
      limiter.failed(req.socket.remoteAddress ?? '');
      res.status(401).type('html').send(loginPage({ next, error: 'That token is not the dashboard token.' }));
      return;
    }
    const nonce = newNonce();
    res.cookie(AUTH_COOKIE, signer.sign('session', nonce), { httpOnly: true, sameSite: 'strict', path: '/' });
    setCsrfCookie(res, signer.sign('csrf', nonce));
    res.redirect(303, next);
  });

  router.use((req: Request, res: Response, next: NextFunction) => {
    const header = presented(req.headers.authorization);
    const byHeader = token !== null && header !== undefined && sameSecret(header.secret, token);
    const session = signer.nonceOf('session', readCookie(req.headers.cookie, AUTH_COOKIE));
    if (token !== null && !byHeader && session === undefined) return unauthorized(req, res);
    // With auth off there is no session: the CSRF cookie's own nonce binds the token.
    const csrfCookie = readCookie(req.headers.cookie, CSRF_COOKIE);
    const nonce = session ?? signer.nonceOf('csrf', csrfCookie) ?? newNonce();
    res.locals.csrf = signer.sign('csrf', nonce);
    if (csrfCookie !== res.locals.csrf && !byHeader) setCsrfCookie(res, res.locals.csrf);
    if (SAFE_METHODS.has(req.method) || (byHeader && header?.scheme === 'bearer')) return next();
    const sent = req.get('x-csrf-token') ?? req.get('x-xsrf-token');
    if (sent !== undefined && sameSecret(sent, res.locals.csrf)) return next();
    // A form post: read its body here so `_csrf` can be checked before any route sees it.
    form(req, res, (err?: unknown) => {
      if (err) return next(err);
      const field = (req.body as Record<string, unknown> | undefined)?._csrf;
      if (typeof field === 'string' && sameSecret(field, res.locals.csrf)) return next();
      res.status(403).json({ error: 'CSRF_INVALID', message: `${req.method} ${req.path} needs the CSRF token of your session (form field _csrf or header X-CSRF-Token)` });
    });
  });

  router.post('/logout', (_req, res) => {
    res.clearCookie(AUTH_COOKIE, { path: '/' });
    res.clearCookie(CSRF_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  });
  return router;
}

/** A browser asking for a page goes to the login form; everything else gets a 401 JSON answer. */
function unauthorized(req: Request, res: Response): void {
  if (req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  res.set('WWW-Authenticate', 'Basic realm="tributary", charset="UTF-8"');
  res.status(401).json({ error: 'UNAUTHORIZED', message: 'log in at /login, or send Authorization: Bearer <DASHBOARD_TOKEN> (or basic auth, password = token)' });
}

/** The token the dashboard must require, or null when DASHBOARD_AUTH=off; refuses to run open by accident. */
export function dashboardToken(config: Pick<Config, 'DASHBOARD_TOKEN' | 'DASHBOARD_AUTH'>): string | null {
  if (config.DASHBOARD_AUTH === 'off') return null;
  if (!config.DASHBOARD_TOKEN) {
    throw new TributaryError(
      'CONFIG_INVALID',
      'DASHBOARD_TOKEN is required for the dashboard (at least 16 characters, e.g. `openssl rand -hex 24`), or set DASHBOARD_AUTH=off',
    );
  }
  return config.DASHBOARD_TOKEN;
}
