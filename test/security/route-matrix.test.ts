/**
 * The route × credential matrix (issue 19), generated: API routes from `API_ROUTES` and
 * /api/openapi.json (which must agree with each other and with the router), the app's other routes
 * by walking the Express router, bull-board's from its route table — a route added later is in the
 * matrix without anyone listing it, and one the matrix cannot classify fails the first test.
 * Against a real server and database, with path parameters filled with a real run, task, report,
 * queue and job: every non-public route refuses the seven bad credentials (401, or 303 to /login
 * for a page); a viewer reads, but each state change is a 403 that moves nothing (SQL and queue
 * snapshot); a session's state change without its CSRF token is a 403; operators and admins pass
 * auth everywhere (operators are refused only the admin-only routes) and none of our routes is a 5xx.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../dashboard/api.ts';
import { credentials, DAG_ID, snapshot, startServer, type Credential, type Server } from './harness.ts';
import { discoverRoutes, fill, isAdminOnly, isPage, isPublic, isSelfService, isWrite, key, QUERY, type Route } from './routes.ts';

let s: Server;
let routes: Route[];
let unclassified: string[];
let creds: Credential[];
let cells = 0;

beforeAll(async () => {
  s = await startServer({ log: pino({ level: 'silent' }) });
  ({ routes, unclassified } = discoverRoutes(s.app()));
  creds = await credentials(s);
}, 90_000);

afterAll(async () => {
  const checked = routes?.filter((r) => !isPublic(r)) ?? [];
  console.log(`security route matrix: ${routes?.length} routes (${checked.length} behind login, ${checked.filter(isWrite).length} state changes) × ${creds?.length} credentials = ${checked.length * (creds?.length ?? 0)} cells (+ ${checked.filter(isWrite).length} without CSRF); ${cells} requests checked`);
  await s?.close();
});

/** Bodies that let a state change run; any other gets `{}` (JSON) or only its CSRF field (form). */
const BODY: Record<string, (runId: string) => Record<string, unknown>> = {
  'POST /api/dags/:dagId/backfill': () => ({ from: '2025-05-10', to: '2025-05-11' }),
  'POST /api/dags/:dagId/clear-failed': (run) => ({ runIds: [Number(run)] }),
  'POST /api/runs/:runId/tasks/:taskId/mark': () => ({ state: 'success' }),
  'POST /dags/:dagId/backfill': () => ({ from: '2025-05-10', to: '2025-05-11' }),
  'POST /dags/:dagId/clear-failed': (run) => ({ runId: run }),
  'POST /runs/:id/tasks/:taskId/mark': () => ({ state: 'success' }),
  'POST /queues/api/queues/:queueName/add': () => ({ name: 'security-suite', data: {} }),
};

/** One request of route × credential; a form for the app's own POSTs, JSON elsewhere. */
async function send(route: Route, cred: Credential, csrf = true): Promise<Response> {
  const write = isWrite(route);
  const headers: Record<string, string> = { ...(await cred.headers({ write, csrf })), accept: isPage(route) ? 'text/html' : 'application/json' };
  const fields = BODY[key(route)]?.(s.ids.run) ?? {};
  let body: string | undefined;
  if (write && route.source === 'app') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const form = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)]));
    if (csrf && headers['x-csrf-token']) form.set('_csrf', headers['x-csrf-token']);
    body = form.toString();
  } else if (write) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(fields);
  }
  cells += 1;
  return fetch(`${s.dashboard.url}${fill(route.path, s.ids)}${QUERY[key(route)] ?? ''}`, { method: route.method, headers, body, redirect: 'manual' });
}

const behindLogin = () => routes.filter((r) => !isPublic(r));
const where = (route: Route, cred: Credential, res: Response) => `${key(route)} as ${cred.name}: ${res.status}`;

describe('route × credential matrix', () => {
  it('finds every route: API_ROUTES, /api/openapi.json and the router agree, bull-board is in, nothing is unclassified', async () => {
    expect(unclassified, 'routes the matrix cannot classify or fill: give them a rule in test/security/routes.ts').toEqual([]);
    const fromTable = API_ROUTES.map((r) => `${r.method.toUpperCase()} /api${r.path.replace(/\{(\w+)\}/g, ':$1')}`).sort();
    const doc = (await (await fetch(`${s.dashboard.url}/api/openapi.json`, { headers: { authorization: 'Bearer security-suite-shared-token-0123456789' } })).json()) as { paths: Record<string, Record<string, unknown>> };
    const fromDoc = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)).sort();
    const fromRouter = routes.filter((r) => r.source === 'api').map(key).sort();
    expect(fromDoc).toEqual(fromTable);
    expect(fromRouter).toEqual(fromTable);
    const app = routes.filter((r) => r.source === 'app').map(key);
    expect(app).toEqual(expect.arrayContaining(['GET /', 'GET /dags/:dagId', 'POST /dags/:dagId/pause', 'POST /runs/:id/tasks/:taskId/mark', 'GET /audit', 'GET /users', 'GET /sessions', 'GET /metrics', 'GET /api/openapi.json']));
    const board = routes.filter((r) => r.source === 'board');
    expect(board.filter(isWrite).map(key)).toEqual(expect.arrayContaining(['PUT /queues/api/queues/:queueName/obliterate', 'POST /queues/api/queues/:queueName/add', 'PUT /queues/api/queues/:queueName/pause']));
    expect(routes.filter(isPublic).map(key).sort()).toEqual(['GET /login', 'POST /login']);
  });

  it('every route behind the login refuses the seven bad credentials: 401, or 303 to /login for a page; nothing changes', async () => {
    const bad = creds.filter((c) => c.bad);
    expect(bad).toHaveLength(7);
    const before = await snapshot(s.t);
    const wrong: string[] = [];
    for (const cred of bad) {
      for (const route of behindLogin()) {
        const res = await send(route, cred);
        await res.body?.cancel();
        const ok = res.status === 401 || (isPage(route) && res.status === 303 && (res.headers.get('location') ?? '').startsWith('/login?next='));
        if (!ok) wrong.push(where(route, cred, res));
      }
    }
    expect(wrong).toEqual([]);
    expect(await snapshot(s.t)).toBe(before);
  });

  it('a viewer (session or token) reads every route but the admin-only ones; each state change is a 403 that moves nothing', async () => {
    const viewers = creds.filter((c) => c.role === 'viewer');
    expect(viewers.map((c) => c.name)).toEqual(['viewer session', 'viewer token']);
    const wrong: string[] = [];
    for (const cred of viewers) {
      for (const route of behindLogin()) {
        const before = isWrite(route) ? await snapshot(s.t) : '';
        const res = await send(route, cred);
        await res.body?.cancel();
        const refused = res.status === 403;
        const mustRefuse = isAdminOnly(route) || (isWrite(route) && !isSelfService(route));
        if (mustRefuse !== refused || res.status === 401) wrong.push(`${where(route, cred, res)} (expected ${mustRefuse ? '403' : 'not 401/403'})`);
        if (isWrite(route) && !isSelfService(route) && (await snapshot(s.t)) !== before) wrong.push(`${key(route)} as ${cred.name} changed state`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a state change with a session but without its CSRF token is a 403 that moves nothing', async () => {
    const operator = creds.find((c) => c.name === 'operator session')!;
    const before = await snapshot(s.t);
    const wrong: string[] = [];
    for (const route of behindLogin().filter(isWrite)) {
      const res = await send(route, operator, false);
      await res.body?.cancel();
      if (res.status !== 403) wrong.push(where(route, operator, res));
    }
    expect(wrong).toEqual([]);
    expect(await snapshot(s.t)).toBe(before);
  });

  it('operators and admins pass auth on every route (an operator is refused only the admin-only ones); none of our routes is a 5xx', async () => {
    const wrong: string[] = [];
    const failedOnServer: string[] = [];
    for (const cred of creds.filter((c) => c.role === 'operator' || c.role === 'admin')) {
      for (const route of behindLogin()) {
        const res = await send(route, cred);
        await res.body?.cancel();
        const mustRefuse = cred.role === 'operator' && isAdminOnly(route);
        if ((res.status === 403) !== mustRefuse || res.status === 401) wrong.push(`${where(route, cred, res)} (expected ${mustRefuse ? '403' : 'not 401/403'})`);
        if (res.status >= 500 && route.source !== 'board') failedOnServer.push(where(route, cred, res));
      }
    }
    expect(wrong).toEqual([]);
    expect(failedOnServer).toEqual([]);
    // The handlers ran: the operator's actions are in the audit log under its name.
    const { rows } = await s.t.database.pool.query<{ action: string }>(`SELECT DISTINCT action FROM audit_events WHERE actor = 'otto' AND outcome = 'ok'`);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['pause', 'unpause', 'trigger', 'backfill', 'mark', 'clear', 'clear-run', 'queue']));
    expect((await s.t.database.pool.query(`SELECT 1 FROM dags WHERE dag_id = $1`, [DAG_ID])).rowCount).toBe(1);
  });
});
