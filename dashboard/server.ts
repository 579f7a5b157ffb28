/**
 * The dashboard HTTP server: the web UI (dashboard/ui.ts), bull-board at /queues (one queue per
 * job kind, either backend; read-only for viewers), the JSON API under /api, the audit log and users
 * pages (dashboard/access-pages.ts), Prometheus text at /metrics — all behind the Host allowlist,
 * the audit trail of state changes (dashboard/audit-trail.ts) and the Origin checks
 * (dashboard/request-guard.ts), then the login (named users, their tokens or the shared token),
 * database session and CSRF checks (dashboard/auth.ts) and the role check (dashboard/roles.ts),
 * with helmet's security headers; one last error handler answers any error with one line. `startDashboard(...)` → `{ url, port, listening, close() }`; binds `host`
 * (127.0.0.1 unless configured) and refuses a non-loopback bind with auth off unless told.
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.ts';
import { accessRouter } from './access-pages.ts';
import { apiRouter } from './api.ts';
import { auditTrail } from './audit-trail.ts';
import { authRouter } from './auth.ts';
import { escapeHtml } from './html.ts';
import { dashboardMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { allowedHosts, checkExposure, errorHandler, hostGuard, LoginLimiter, originGuard } from './request-guard.ts';
import { roleGuard } from './roles.ts';
import { SessionStore } from './sessions.ts';
import { uiRouter } from './ui.ts';
import { UserStore } from './users.ts';

/**
 * bull-board's page gets the session's CSRF token in a meta tag and /static/board-csrf.js, which
 * adds it as X-CSRF-Token to the page's own requests (no cookie carries the token).
 */
function boardCsrf(_req: express.Request, res: express.Response, next: express.NextFunction): void {
  const render = res.render.bind(res) as (view: string, options: object, done: (err: Error | null, page: string) => void) => void;
  res.render = ((view: string, options: object = {}) => render(view, options, (err, page) => {
    if (err) return next(err);
    const tag = `<meta name="csrf-token" content="${escapeHtml(res.locals.csrf)}"><script src="/static/board-csrf.js"></script>`;
    res.type('html').send(page.replace('</head>', `${tag}</head>`));
  })) as express.Response['render'];
  next();
}

export interface DashboardOptions {
  engine: Engine;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** The shared DASHBOARD_TOKEN; null only when DASHBOARD_AUTH=off. */
  token: string | null;
  /** DASHBOARD_AUTH=users: only named users (`trib users add`) get in; `token` only keys sessions. @default false */
  usersOnly?: boolean;
  log: Logger;
  /** Backfills of more runs than this are refused (BACKFILL_MAX_RUNS). @default 1000 */
  backfillMaxRuns?: number;
  /** DASHBOARD_ALLOWED_HOSTS, comma list. @default loopback names + `host` (unless 0.0.0.0/::) */
  allowedHosts?: string;
  /** PUBLIC_URL: its host is allowed and its origin is the dashboard's own. */
  publicUrl?: string;
  /** DASHBOARD_EXPOSE_UNAUTHENTICATED: a non-loopback bind with token null starts only with this. */
  exposeUnauthenticated?: boolean;
  /** DASHBOARD_SESSION_IDLE in ms: a browser session ends after this long without a request. @default 12 h */
  sessionIdleMs?: number;
  /** DASHBOARD_SESSION_MAX_AGE in ms: a browser session ends this long after its login. @default 7 d */
  sessionMaxAgeMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  /** The address really bound, e.g. `0.0.0.0:8080 (all interfaces)`. */
  listening: string;
  close(): Promise<void>;
}

export function createDashboardApp(options: Omit<DashboardOptions, 'port'>): express.Express {
  const { engine, token, log, backfillMaxRuns = 1000 } = options;
  const app = express();
  app.disable('x-powered-by');
  // Served over plain http on a loopback address too: no upgrade of requests to https.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(hostGuard(allowedHosts({ bindHost: options.host ?? '127.0.0.1', allowed: options.allowedHosts, publicUrl: options.publicUrl })));
  app.use(auditTrail(engine, log));
  app.use(originGuard(options.publicUrl));
  app.use('/static', express.static(path.join(import.meta.dirname, 'static'), { maxAge: '1h' }));
  const sessions = token === null ? null
    : new SessionStore(engine.pool, token, { idleMs: options.sessionIdleMs ?? 12 * 3_600_000, maxAgeMs: options.sessionMaxAgeMs ?? 7 * 86_400_000 });
  const users = token === null ? null : new UserStore(engine.pool);
  app.use(authRouter({ token, limiter: new LoginLimiter(log), sessions, users, usersOnly: options.usersOnly ?? false }));
  app.use(roleGuard);

  // Viewers get a read-only board (no job buttons); roleGuard refuses their writes either way.
  const boards = { write: queueBoard(engine, false), read: queueBoard(engine, true) };
  app.use('/queues', boardCsrf, (req, res, next) => (res.locals.principal?.role === 'viewer' ? boards.read : boards.write)(req, res, next));
  app.get('/api/openapi.json', (_req, res) => res.json(openApiDocument()));
  app.use(accessRouter(engine.pool, users));
  app.use('/api', apiRouter(engine, log, { backfillMaxRuns }));
  const metrics = dashboardMetrics(engine.pool, new Map([...engine.options.kinds.keys()].map((name) => [name, engine.backend.queue(name)])));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.scrape());
  });
  app.use(uiRouter(engine, log, { backfillMaxRuns }));
  app.use(errorHandler(log));
  return app;
}

/** bull-board over one queue per job kind, mounted at /queues. */
function queueBoard(engine: Engine, readOnly: boolean): express.Router {
  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: [...engine.options.kinds.keys()].map((name) => new BullMQAdapter(engine.backend.queue(name) as unknown as Queue, { readOnlyMode: readOnly })),
    // @bull-board/express 9.10.1 pins its own @bull-board/api copy: same interface, distinct type identity.
    serverAdapter: board as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Tributary' } },
  });
  return board.getRouter() as express.Router;
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  checkExposure({ host, token: options.token, exposeUnauthenticated: options.exposeUnauthenticated });
  const server = http.createServer(createDashboardApp({ ...options, host }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${port}`;
  const bound = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const listening = host === '0.0.0.0' || host === '::' ? `${bound} (all interfaces)` : bound;
  options.log.info({ url, listening, auth: options.token === null ? 'off' : 'token' }, `dashboard listening on ${listening}`);
  return {
    url,
    port,
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
