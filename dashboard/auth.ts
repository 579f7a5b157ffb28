/**
 * Dashboard access: `Authorization: Bearer <token>`, basic auth (any user, password = token), or a
 * cookie set once by `?token=<token>` (HttpOnly, SameSite=Strict) so a browser can load bull-board's
 * assets. Comparisons are constant-time; the cookie holds an HMAC of the token, not the token.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../engine/config.ts';
import { TributaryError } from '../engine/errors.ts';

export const AUTH_COOKIE = 'tributary_session';

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function cookieValue(token: string): string {
  return createHmac('sha256', token).update('tributary dashboard session').digest('hex');
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The secret a request presents in its Authorization header, if any. */
function presented(header: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (bearer) return bearer[1].trim();
  const basic = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/** `null` token = auth explicitly off (DASHBOARD_AUTH=off). */
export function requireToken(token: string | null): RequestHandler {
  if (token === null) return (_req, _res, next) => next();
  const session = cookieValue(token);
  return (req: Request, res: Response, next: NextFunction) => {
    const secret = presented(req.headers.authorization);
    if (secret !== undefined && sameSecret(secret, token)) return next();
    const cookie = readCookie(req.headers.cookie, AUTH_COOKIE);
    if (cookie !== undefined && sameSecret(cookie, session)) return next();
    const query = req.query.token;
    if (typeof query === 'string' && sameSecret(query, token)) {
      res.cookie(AUTH_COOKIE, session, { httpOnly: true, sameSite: 'strict', path: '/' });
      const url = new URL(req.originalUrl, 'http://localhost');
      url.searchParams.delete('token');
      return res.redirect(303, `${url.pathname}${url.search}`);
    }
    res.set('WWW-Authenticate', 'Basic realm="tributary", charset="UTF-8"');
    res.status(401).json({ error: 'UNAUTHORIZED', message: 'send Authorization: Bearer <DASHBOARD_TOKEN> (or basic auth, password = token)' });
  };
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
