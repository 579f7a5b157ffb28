/**
 * What each role may do, checked once for every request after the login check (dashboard/server.ts):
 * a viewer reads (GET/HEAD) and may end its own sessions; an operator also acts (trigger, clear,
 * mark, pause, backfill, bull-board's job actions); an admin also reads /users and /api/users and
 * sees every user's sessions. A refusal is a 403 naming the user, the role and the way out.
 */
import type { NextFunction, Request, Response } from 'express';
import { html, layout } from './html.ts';
import type { Role } from './users.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** State changes every signed-in user may make: ending their own sessions. */
const SELF_SERVICE = new Set(['/logout', '/sessions/revoke']);
const ADMIN_ONLY = /^\/(api\/)?users(\/|$)/;
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** The role a request needs: admin for user pages, operator for any other state change, else viewer. */
export function roleNeeded(method: string, path: string): Role {
  if (ADMIN_ONLY.test(path)) return 'admin';
  if (READS.has(method) || SELF_SERVICE.has(path)) return 'viewer';
  return 'operator';
}

export function roleGuard(req: Request, res: Response, next: NextFunction): void {
  const principal = res.locals.principal;
  const needed = roleNeeded(req.method, req.path);
  if (!principal || RANK[principal.role] >= RANK[needed]) return next();
  const message = `user ${principal.name} is a ${principal.role}: ${req.method} ${req.path} needs the ${needed} role `
    + `(an admin changes it: trib users role ${principal.name} ${needed})`;
  res.locals.auditDetail = message;
  res.status(403);
  if (req.method === 'GET' && req.accepts(['json', 'html']) === 'html' && !req.path.startsWith('/api/')) {
    res.type('html').send(layout({ title: 'Not allowed', csrf: res.locals.csrf, body: html`<h1>Not allowed</h1><p class="flash error" role="alert">${message}</p>` }));
    return;
  }
  res.json({ error: 'FORBIDDEN', message });
}
