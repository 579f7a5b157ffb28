/**
 * The dashboard HTTP server: the web UI (dashboard/ui.ts), bull-board at /queues (one queue per
 * job kind, either backend), the JSON API under /api, Prometheus text at /metrics — all behind the
 * login / token and CSRF checks (dashboard/auth.ts), with helmet's security headers.
 * `startDashboard(...)` → `{ url, port, close() }`; binds `host` (127.0.0.1 unless configured).
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
import { apiRouter } from './api.ts';
import { authRouter } from './auth.ts';
import { dashboardMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { uiRouter } from './ui.ts';

export interface DashboardOptions {
  engine: Engine;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** null only when DASHBOARD_AUTH=off. */
  token: string | null;
  log: Logger;
  /** Backfills of more runs than this are refused (BACKFILL_MAX_RUNS). @default 1000 */
  backfillMaxRuns?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function createDashboardApp({ engine, token, log, backfillMaxRuns = 1000 }: Omit<DashboardOptions, 'host' | 'port'>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Served over plain http on a loopback address too: no upgrade of requests to https.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use('/static', express.static(path.join(import.meta.dirname, 'static'), { maxAge: '1h' }));
  app.use(authRouter(token));

  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  createBullBoard({
    queues: [...engine.options.kinds.keys()].map((name) => new BullMQAdapter(engine.backend.queue(name) as unknown as Queue)),
    // @bull-board/express 9.10.1 pins its own @bull-board/api copy: same interface, distinct type identity.
    serverAdapter: board as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Tributary' } },
  });
  app.use('/queues', board.getRouter() as express.Router);
  app.get('/api/openapi.json', (_req, res) => res.json(openApiDocument()));
  app.use('/api', apiRouter(engine, log, { backfillMaxRuns }));
  const metrics = dashboardMetrics(engine.pool, new Map([...engine.options.kinds.keys()].map((name) => [name, engine.backend.queue(name)])));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.scrape());
  });
  app.use(uiRouter(engine, log, { backfillMaxRuns }));
  return app;
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer(createDashboardApp(options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${port}`;
  options.log.info({ url, auth: options.token === null ? 'off' : 'token' }, 'dashboard listening');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
