/**
 * Checks every dashboard request passes before auth (dashboard/server.ts mounts them in order):
 * - `hostGuard`: the Host header (port ignored) must be one of the allowed names — a DNS-rebinding
 *   page reaches the server under its own name and is refused with 421.
 * - `originGuard`: a state-changing request (POST/PUT/PATCH/DELETE, bull-board's /queues included)
 *   carrying `Origin` must come from the dashboard's own origin — `http://<Host>` (Host already
 *   allowed) or PUBLIC_URL's origin; one carrying `Sec-Fetch-Site: cross-site|same-site` is refused
 *   (same-site covers another port of the same host). `Origin: null` counts as absent. Requests with
 *   neither header (curl, scripts) fall through to the CSRF token rule of dashboard/auth.ts.
 * - `LoginLimiter`: failed logins per source address; LOGIN_MAX_FAILURES in a minute lock the
 *   address out (429 + Retry-After) until the minute from its first failure ends; one warn per lockout.
 * - `errorHandler`: the last handler; any error becomes one line of ours (4xx of body parsers keep
 *   their status: 413 too large, 415 charset, 400 unreadable), never Express's page with a stack.
 * - `checkExposure`: a non-loopback bind with auth off needs DASHBOARD_EXPOSE_UNAUTHENTICATED=true.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { TributaryError } from '../engine/errors.ts';
import { statusOf } from './api.ts';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** `host[:port]` or `[v6]:port` → the lowercased host name without port (`[::1]` keeps its brackets). */
export function hostName(hostHeader: string): string {
  const lower = hostHeader.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.lastIndexOf(':');
  return colon >= 0 && lower.indexOf(':') === colon ? lower.slice(0, colon) : lower;
}

/** A bind address that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1' || h === '[::1]' || h === 'localhost';
}

/**
 * The Host names the dashboard answers to: DASHBOARD_ALLOWED_HOSTS when set, else the loopback names
 * plus the bind host (unless a wildcard); PUBLIC_URL's host is always added.
 */
export function allowedHosts(opts: { bindHost: string; allowed?: string; publicUrl?: string }): Set<string> {
  const names = opts.allowed
    ? opts.allowed.split(',').map((h) => h.trim()).filter(Boolean)
    : [...LOOPBACK_NAMES, ...(WILDCARDS.has(opts.bindHost) ? [] : [opts.bindHost.includes(':') && !opts.bindHost.startsWith('[') ? `[${opts.bindHost}]` : opts.bindHost])];
  if (opts.publicUrl) names.push(new URL(opts.publicUrl).hostname);
  return new Set(names.map((h) => h.toLowerCase()));
}

export function hostGuard(allowed: Set<string>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const name = hostName(req.headers.host ?? '');
    if (allowed.has(name)) return next();
    res.status(421).type('text/plain').send(
      `Host "${name.slice(0, 100)}" is not one this dashboard answers to: add it to DASHBOARD_ALLOWED_HOSTS (now ${[...allowed].join(',')})\n`,
    );
  };
}

export function originGuard(publicUrl: string | undefined) {
  const publicOrigin = publicUrl ? new URL(publicUrl).origin : undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!STATE_CHANGING.has(req.method)) return next();
    // `Origin: null` says nothing: Chromium sends it for our own form posts under helmet's
    // Referrer-Policy no-referrer; Sec-Fetch-Site (same-origin there) and the CSRF token decide.
    const origin = req.get('origin') === 'null' ? undefined : req.get('origin');
    const site = req.get('sec-fetch-site')?.toLowerCase();
    const own = `${req.protocol}://${req.headers.host ?? ''}`.toLowerCase();
    const foreignOrigin = origin !== undefined && origin.toLowerCase() !== own && origin !== publicOrigin;
    if (!foreignOrigin && site !== 'cross-site' && site !== 'same-site') return next();
    const from = foreignOrigin ? `Origin ${origin.slice(0, 200)}` : `Sec-Fetch-Site: ${site}`;
    res.status(403).json({
      error: 'ORIGIN_REFUSED',
      message: `${req.method} ${req.path} refused: ${from} is not this dashboard (${own}${publicOrigin ? ` or ${publicOrigin}` : ''}); state changes come from its own pages or from scripts without Origin`,
    });
  };
}

export const LOGIN_MAX_FAILURES = 10;
const LOGIN_WINDOW_MS = 60_000;

/** Failed logins per address in a one-minute window from the first failure. */
export class LoginLimiter {
  private readonly failures = new Map<string, { first: number; count: number }>();
  constructor(private readonly log: Logger) {}

  /** Seconds until `address` may try again, or 0 when it may now. */
  retryAfter(address: string, now = Date.now()): number {
    const entry = this.failures.get(address);
    if (!entry || now - entry.first >= LOGIN_WINDOW_MS) return 0;
    return entry.count >= LOGIN_MAX_FAILURES ? Math.ceil((entry.first + LOGIN_WINDOW_MS - now) / 1000) : 0;
  }

  failed(address: string, now = Date.now()): void {
    for (const [key, entry] of this.failures) if (now - entry.first >= LOGIN_WINDOW_MS) this.failures.delete(key);
    const entry = this.failures.get(address) ?? { first: now, count: 0 };
    entry.count += 1;
    this.failures.set(address, entry);
    if (entry.count === LOGIN_MAX_FAILURES) {
      this.log.warn({ address, failures: entry.count }, `dashboard login locked for ${address}: ${entry.count} failed logins within a minute`);
    }
  }
}

/** The last Express handler: one line, 4xx of our body parsers kept, anything else 500 and logged. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const e = err as { status?: unknown; expose?: unknown; type?: unknown; message?: unknown };
    // Our own refusals (a bad filter on a page without its own handler) keep their status, e.g. 400.
    const status = err instanceof TributaryError ? statusOf(err)
      : typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true ? e.status : 500;
    const message = status === 500
      ? `${req.method} ${req.path} failed on the server (logged); try again or check the dashboard's log`
      : `${req.method} ${req.path}: ${String(e.message ?? 'bad request').slice(0, 200)}${status === 413 ? ' (the body is larger than this route accepts)' : ''}`;
    if (status === 500) log.error({ err, method: req.method, path: req.path }, 'dashboard request failed');
    const code = err instanceof TributaryError && status !== 500 ? err.code
      : status === 413 ? 'BODY_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_BODY' : status === 500 ? 'INTERNAL' : 'BAD_REQUEST';
    if (req.path.startsWith('/api/') || req.accepts(['html', 'json']) === 'json') {
      res.status(status).json({ error: code, message });
      return;
    }
    res.status(status).type('text/plain').send(`${message}\n`);
  };
}

/** Refuses a bind other machines can reach with auth off, unless DASHBOARD_EXPOSE_UNAUTHENTICATED=true. */
export function checkExposure(opts: { host: string; token: string | null; exposeUnauthenticated?: boolean }): void {
  if (opts.token !== null || isLoopback(opts.host) || opts.exposeUnauthenticated) return;
  throw new TributaryError(
    'CONFIG_INVALID',
    `DASHBOARD_HOST=${opts.host} with DASHBOARD_AUTH=off would let anyone on the network operate the dashboard: ` +
      'bind 127.0.0.1, turn auth on (DASHBOARD_TOKEN), or set DASHBOARD_EXPOSE_UNAUTHENTICATED=true if your own proxy authenticates',
  );
}
