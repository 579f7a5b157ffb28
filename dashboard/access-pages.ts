/**
 * Pages of who may do what and who did: /audit (every signed-in user; filter by user and action)
 * and /users (admins: dashboard/roles.ts refuses others). The same data is in the API
 * (/api/audit, /api/users).
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type pg from 'pg';
import { z } from 'zod';
import { listAudit } from '../engine/audit-log.ts';
import { parseBody } from './actions.ts';
import { FilterText } from './input-guards.ts';
import { AUDIT_PAGE_ROWS, auditPage } from './pages/audit.ts';
import { usersPage } from './pages/users.ts';
import type { UserStore } from './users.ts';

export const AuditQuery = z.object({
  /** Only this user's rows (`token`: the shared token, `cli:<os user>`: the CLI, `-`: unauthenticated). */
  actor: FilterText.max(200).optional(),
  /** Only this action, e.g. trigger, login, pause. */
  action: FilterText.max(200).optional(),
  /** Audit row id: rows older than it (the last id of the previous page). */
  before: z.coerce.number().int().positive().optional(),
  /** @default 100 */
  limit: z.coerce.number().int().min(1).max(1000).default(AUDIT_PAGE_ROWS),
});

const blankToUndefined = (query: Request['query']) =>
  Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));

export function accessRouter(pool: pg.Pool, users: UserStore | null): Router {
  const router = Router();
  const page = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => fn(req, res).catch(next);
  router.get('/audit', page(async (req, res) => {
    const view = parseBody(AuditQuery, blankToUndefined(req.query), 'GET /audit');
    const rows = await listAudit(pool, { ...view, limit: AUDIT_PAGE_ROWS });
    res.type('html').send(auditPage({ rows, view, csrf: res.locals.csrf }));
  }));
  router.get('/users', page(async (_req, res) => {
    const [list, tokens] = users ? await Promise.all([users.list(), users.listTokens()]) : [[], []];
    res.type('html').send(usersPage({ users: list, tokens, csrf: res.locals.csrf }));
  }));
  return router;
}
