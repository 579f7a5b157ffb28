/**
 * Every route the dashboard answers, found rather than listed, for the security suite: the Express
 * app's own routes by walking `app.router.stack` (Express 5 / router 2: a route layer has
 * `route.path` and `route.methods`, a mounted router's layer has `rawPath` and `handle.stack`),
 * bull-board's routes from the table it registers (`appRoutes` of @bull-board/api, mounted at
 * /queues behind a wrapper the walk cannot see into). Each is classified by rules that do not ask
 * dashboard/roles.ts (so a broken roleNeeded shows): public, self-service, admin-only, write (any
 * method but GET/HEAD). A route the rules cannot fill (an unknown path parameter or mount) is
 * returned in `unclassified`, and the matrix fails on it.
 */
import { appRoutes as boardRoutes } from '@bull-board/api/dist/routes.js';
import type express from 'express';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Source = 'api' | 'app' | 'board';

export interface Route {
  method: Method;
  /** Express pattern, e.g. `/api/runs/:runId/logs`. */
  path: string;
  source: Source;
}

/** Routes anyone may call: the login form and its POST. */
const PUBLIC = new Set(['GET /login', 'POST /login']);
/** State changes every signed-in user may make on their own sessions. */
const SELF_SERVICE = new Set(['POST /logout', 'POST /sessions/revoke']);
/** Reads only an admin may make. */
const ADMIN_ONLY = new Set(['GET /users', 'GET /api/users']);
/** Mounts that are not routes of the walk: static files (public) and bull-board (listed from its table). */
const KNOWN_MOUNTS = new Set(['/static', '/queues']);

export const key = (r: Pick<Route, 'method' | 'path'>) => `${r.method} ${r.path}`;
export const isPublic = (r: Route) => PUBLIC.has(key(r));
export const isSelfService = (r: Route) => SELF_SERVICE.has(key(r));
export const isAdminOnly = (r: Route) => ADMIN_ONLY.has(key(r));
export const isWrite = (r: Route) => r.method !== 'GET';
/** A browser page: without a login it is a redirect to /login, not a 401. */
export const isPage = (r: Route) => r.method === 'GET' && !r.path.startsWith('/api/') && !r.path.startsWith('/queues/api/');

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  rawPath?: string | string[] | RegExp;
  handle: { stack?: Layer[] };
}

/** `prefix` + `p` as Express matches them: `/` + `/login` is `/login`, `/queues` + `/` is `/queues`. */
const join = (prefix: string, p: string) => `${prefix.replace(/\/$/, '')}${p === '/' && prefix ? '' : p}` || '/';

/** The app's routes (method + full path) and the paths of mounted middleware that is not a router. */
export function walkApp(app: express.Express): { routes: Array<Omit<Route, 'source'> & { under: string }>; mounts: string[] } {
  const routes: Array<Omit<Route, 'source'> & { under: string }> = [];
  const mounts: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const p of ([] as string[]).concat(layer.route.path)) {
          for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') routes.push({ method: m.toUpperCase() as Method, path: join(prefix, p), under: prefix });
        }
        continue;
      }
      const at = typeof layer.rawPath === 'string' ? layer.rawPath : String(layer.rawPath ?? '/');
      if (layer.handle.stack) walk(layer.handle.stack, join(prefix, at));
      else if (at !== '/') mounts.push(join(prefix, at));
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return { routes, mounts: [...new Set(mounts)] };
}

/** bull-board's routes under /queues: its pages (GET) and its JSON API. */
export function boardRouteList(): Route[] {
  const list: Route[] = [];
  const entry = boardRoutes.entryPoint;
  for (const p of ([] as string[]).concat(entry.route)) list.push({ method: 'GET', path: join('/queues', p), source: 'board' });
  for (const r of boardRoutes.api) {
    for (const m of ([] as string[]).concat(r.method)) list.push({ method: m.toUpperCase() as Method, path: join('/queues', r.route as string), source: 'board' });
  }
  return list;
}

/** All routes of the app (API routes are the ones under the /api mount), bull-board's, and what could not be classified. */
export function discoverRoutes(app: express.Express): { routes: Route[]; unclassified: string[] } {
  const walked = walkApp(app);
  const routes: Route[] = [
    ...walked.routes.map(({ under, ...r }) => ({ ...r, source: (under === '/api' ? 'api' : 'app') as Source })),
    ...boardRouteList(),
  ];
  const unclassified = walked.mounts.filter((m) => !KNOWN_MOUNTS.has(m)).map((m) => `mount ${m}`);
  for (const r of routes) {
    if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method)) unclassified.push(`${key(r)}: method`);
    for (const [, name] of r.path.matchAll(/:(\w+)/g)) if (!(name in PARAM_KINDS)) unclassified.push(`${key(r)}: path parameter :${name}`);
    if (/[*{}()?]/.test(r.path)) unclassified.push(`${key(r)}: pattern syntax the matrix cannot fill`);
  }
  return { routes, unclassified };
}

/** Which real value each path parameter takes. */
const PARAM_KINDS = {
  dagId: 'dag', runId: 'run', id: 'run', taskId: 'task', reportId: 'report',
  queueName: 'queue', jobId: 'job', queueStatus: 'queueStatus', schedulerId: 'scheduler',
} as const;

export type Ids = Record<(typeof PARAM_KINDS)[keyof typeof PARAM_KINDS], string>;

/** `route.path` with real ids in its parameters. */
export function fill(path: string, ids: Ids): string {
  return path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(ids[PARAM_KINDS[name as keyof typeof PARAM_KINDS]]));
}

const DAY_RANGE = '?from=2025-05-10&to=2025-05-11';
/** Query strings that let a GET handler run past its argument checks (the harness DAG's tasks). */
export const QUERY: Record<string, string> = {
  'GET /api/runs/:runId/logs': '?task=summary',
  'GET /api/runs/:runId/refused': '?task=summary',
  'GET /api/dags/:dagId/backfill': DAY_RANGE,
  'GET /dags/:dagId/backfill': DAY_RANGE,
  'GET /runs/:id/refused': '?task=summary',
  'GET /runs/:id/refused.csv': '?task=summary',
};
