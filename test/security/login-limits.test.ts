/**
 * Login limits and malformed input on the whole surface (issue 19 item 7). Twenty wrong logins
 * from one address: the 11th onward are 429 with Retry-After, each attempt is an audit row
 * (`login`, refused, 401 or 429, the password nowhere), one warn line for the lockout. Then the
 * malformed inputs of the issue, driven from the matrix's routes rather than a few picked ones:
 * `%00` in every query parameter the API declares as text and `before=-271821-04-20` in every one
 * named `before` (400, exactly), both on every GET route of the app (never a 5xx); params nested
 * 10,000 deep to every API POST with a body (400) and every other state change (never a 5xx);
 * `text/plain` to every API POST (415); `charset=utf-7` to every form POST of the UI (415); a UI
 * form route sent no form by a script (4xx); a 30 kB trigger form the UI's parser accepts is not cut
 * by the CSRF check's. No request of them is a 500 and the dashboard's log has no error line.
 * Exactly covered elsewhere and not repeated: the 20 kB login body (413) and the utf-7 login
 * (415) in test/integration/dashboard/request-guard.test.ts, the UI's own filter and cursor
 * messages and the UI trigger form's depth limit in input-guards.test.ts.
 */
import { pino } from 'pino';
import { z } from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOGIN_MAX_FAILURES } from '../../dashboard/request-guard.ts';
import { DAG_ID, snapshot, startServer, TOKEN, type Server } from './harness.ts';
import { discoverRoutes, fill, isPublic, isWrite, key, type Route } from './routes.ts';

let s: Server;
let routes: Route[];
const logLines: Array<{ level: number; msg: string }> = [];
const bearer = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) });
  // `note` is declared so a long one is a valid trigger: what is under test is the parsers' limits.
  s = await startServer({ log, params: { note: z.string().default('n') } });
  routes = discoverRoutes(s.app()).routes.filter((r) => !isPublic(r));
}, 90_000);

beforeEach(() => {
  logLines.length = 0;
});

afterAll(async () => {
  await s?.close();
});

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await s.t.database.pool.query<R>(text, values)).rows;
const errorLines = () => logLines.filter((l) => l.level >= 50).map((l) => l.msg);
const send = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${s.dashboard.url}${path}`, { redirect: 'manual', ...init, headers: { ...bearer, ...(init.headers ?? {}) } });
  await res.body?.cancel();
  return res.status;
};

/** Filter and cursor names the pages read (dashboard/ui.ts, access-pages.ts), each malformed. */
const UI_FILTERS = ['q=x%00y', 'log=a%00', 'task=a%00', 'rule=%00', 'column=%00', 'name=%00', 'actor=%00', 'action=%00', 'before=-271821-04-20', 'after=-1'];

/** Keys of the API routes /api/openapi.json gives a request body. */
async function bodyRoutes(): Promise<Set<string>> {
  const doc = (await (await fetch(`${s.dashboard.url}/api/openapi.json`, { headers: bearer })).json()) as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
  return new Set(Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.entries(ops).filter(([, op]) => op.requestBody !== undefined).map(([m]) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)));
}

interface QueryParam { name: string; schema: { type?: string } }
/** The query parameters /api/openapi.json declares, by route key (`GET /api/runs/:runId/logs`). */
async function declaredQueries(): Promise<Map<string, QueryParam[]>> {
  const doc = (await (await fetch(`${s.dashboard.url}/api/openapi.json`, { headers: bearer })).json()) as {
    paths: Record<string, Record<string, { parameters: Array<QueryParam & { in: string }> }>>;
  };
  const out = new Map<string, QueryParam[]>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) out.set(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`, op.parameters.filter((x) => x.in === 'query'));
  }
  return out;
}

describe('login limits', () => {
  it('20 wrong logins: the 11th onward 429 with Retry-After, each an audit row, one warn line', async () => {
    const before = (await sql<{ id: number }>('SELECT coalesce(max(id), 0)::int AS id FROM audit_events'))[0].id;
    const attempts: Array<{ status: number; retryAfter: string | null }> = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${s.dashboard.url}/login`, {
        method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ user: 'otto', token: `guess-number-${i}-of-twenty` }),
      });
      await res.body?.cancel();
      attempts.push({ status: res.status, retryAfter: res.headers.get('retry-after') });
    }
    expect(attempts.map((a) => a.status)).toEqual([...Array(LOGIN_MAX_FAILURES).fill(401), ...Array(20 - LOGIN_MAX_FAILURES).fill(429)]);
    for (const a of attempts.slice(LOGIN_MAX_FAILURES)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
    expect(attempts.slice(0, LOGIN_MAX_FAILURES).every((a) => a.retryAfter === null)).toBe(true);

    let rows: Array<{ actor: string; action: string; outcome: string; status: number; address: string; params: unknown }> = [];
    for (let i = 0; i < 50 && rows.length < 20; i++) {
      rows = await sql('SELECT actor, action, outcome, status, address, params FROM audit_events WHERE id > $1 ORDER BY id', [before]);
      await new Promise((r) => setTimeout(r, 20));
    }
    // A locked-out attempt is refused before its body is read: its user is unknown (`-`).
    expect(rows.map((r) => [r.actor, r.action, r.outcome, r.status])).toEqual(attempts.map((a) => [a.status === 429 ? '-' : 'otto', 'login', 'refused', a.status]));
    expect(rows.every((r) => /127\.0\.0\.1/.test(r.address))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain('guess-number');
    const warns = logLines.filter((l) => l.level === 40 && l.msg.includes('dashboard login locked'));
    expect(warns).toHaveLength(1);
    expect(errorLines()).toEqual([]);
  });
});

describe('malformed input, route by route', () => {
  it('%00 in a declared text filter and an out-of-range before cursor are 400 on the API; no GET route answers them with a 5xx', async () => {
    const declared = await declaredQueries();
    const gets = routes.filter((r) => r.method === 'GET');
    const wrong: string[] = [];
    let exact = 0;
    for (const route of gets) {
      const base = fill(route.path, s.ids);
      const params = declared.get(key(route)) ?? [];
      const text = params.filter((p) => p.schema.type === 'string' && p.name !== 'before');
      const before = params.filter((p) => p.name === 'before');
      // Every other declared param valid, so the bad one is the reason.
      const valid = Object.fromEntries(params.map((p) => [p.name, p.name === 'task' ? 'summary' : p.name === 'from' ? '2025-05-10' : p.name === 'to' ? '2025-05-11' : '']).filter(([, v]) => v !== ''));
      for (const p of [...text, ...before]) {
        const query = new URLSearchParams({ ...valid, [p.name]: p.name === 'before' ? '-271821-04-20' : 'x\u0000y' });
        const status = await send(`${base}?${query}`, { headers: { accept: 'application/json' } });
        exact += 1;
        if (status !== 400) wrong.push(`${key(route)} ?${p.name}: ${status} (expected 400)`);
      }
      // The UI's pages and bull-board's read their own names: each gets each of them, and must not fail.
      for (const bad of UI_FILTERS) {
        const status = await send(`${base}?${bad}`, { headers: { accept: route.path.startsWith('/api/') ? 'application/json' : 'text/html' } });
        if (status >= 500) wrong.push(`${key(route)} ?${bad}: ${status} (expected a 4xx or a page, never a 5xx)`);
      }
    }
    expect(exact).toBeGreaterThanOrEqual(8);
    expect(wrong, 'a malformed filter or cursor must be a 400 of ours, never a 500').toEqual([]);
    expect(errorLines()).toEqual([]);
  });

  it('text/plain to every API POST is 415 and changes nothing', async () => {
    const api = routes.filter((r) => isWrite(r) && r.source === 'api');
    expect(api.length).toBeGreaterThanOrEqual(8);
    const state = await snapshot(s.t);
    const wrong: string[] = [];
    for (const route of api) {
      const status = await send(fill(route.path, s.ids), { method: route.method, headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ date: '2025-05-20' }) });
      if (status !== 415) wrong.push(`${key(route)} text/plain: ${status} (expected 415)`);
    }
    expect(wrong).toEqual([]);
    expect(await snapshot(s.t), 'a refused text/plain body changed something').toBe(state);
    expect(errorLines()).toEqual([]);
  });

  // bull-board's own routes are left out: its `add` answers 500 for job data nested 10,000 deep
  // (its error handler, not ours; an operator's action, no error line in our log).
  it('params nested 10,000 deep: 400 from every API POST that reads a body; no other API or UI state change answers a 5xx', async () => {
    const takesBody = await bodyRoutes();
    const nested = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const wrong: string[] = [];
    for (const route of routes.filter((r) => isWrite(r) && r.source === 'api')) {
      const status = await send(fill(route.path, s.ids), { method: route.method, headers: { 'content-type': 'application/json' }, body: `{"params":{"x":${nested}}}` });
      const reads = takesBody.has(key(route));
      if (reads ? status !== 400 : status >= 500) wrong.push(`${key(route)} JSON nested 10,000 deep: ${status} (expected ${reads ? '400' : 'not 5xx'})`);
    }
    const { cookie, csrf } = await s.mintSession('ada');
    for (const route of routes.filter((r) => isWrite(r) && r.source === 'app')) {
      const status = await send(fill(route.path, s.ids), { method: route.method, headers: { authorization: '', cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf, params: `{"x":${nested}}` }).toString() });
      if (status >= 500) wrong.push(`${key(route)} form with params nested 10,000 deep: ${status} (expected not 5xx)`);
    }
    expect(takesBody.size).toBeGreaterThanOrEqual(5);
    expect(wrong).toEqual([]);
    expect(errorLines()).toEqual([]);
  });

  it('charset=utf-7 to every form POST of the UI, from a browser session, is 415', async () => {
    const { cookie, csrf } = await s.mintSession('ada');
    const wrong: string[] = [];
    for (const route of routes.filter((r) => isWrite(r) && r.source === 'app')) {
      const status = await send(fill(route.path, s.ids), { method: route.method, headers: { authorization: '', cookie, 'content-type': 'application/x-www-form-urlencoded; charset=utf-7' }, body: `_csrf=${encodeURIComponent(csrf)}` });
      if (status !== 415) wrong.push(`${key(route)} charset=utf-7: ${status} (expected 415)`);
    }
    expect(wrong).toEqual([]);
    expect(errorLines()).toEqual([]);
  });

  it('a trigger form within the UI\'s limits (30 kB of params) is not cut short by the CSRF check\'s parser', async () => {
    const { cookie, csrf } = await s.mintSession('ada');
    const runs = (await sql<{ n: number }>('SELECT count(*)::int AS n FROM dag_runs'))[0].n;
    const status = await send(`/dags/${DAG_ID}/trigger`, {
      method: 'POST', headers: { authorization: '', cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, params: JSON.stringify({ note: 'n'.repeat(30_000) }) }).toString(),
    });
    expect(status, 'the auth guard\'s 16 kB form parser (CSRF check, dashboard/auth.ts) must not refuse a form the UI\'s 256 kB parser accepts').toBe(303);
    expect((await sql<{ n: number }>('SELECT count(*)::int AS n FROM dag_runs'))[0].n).toBe(runs + 1);
  });

  it('a UI form route sent a body that is not a form (none, JSON, text/plain) by a script is a 4xx, never a 500', async () => {
    const wrong: string[] = [];
    for (const route of routes.filter((r) => isWrite(r) && r.source === 'app')) {
      for (const [type, body] of [[undefined, undefined], ['application/json', '{}'], ['text/plain', 'x']] as const) {
        const status = await send(fill(route.path, s.ids), { method: route.method, headers: type ? { 'content-type': type } : {}, body });
        if (status >= 500) wrong.push(`${key(route)} with ${type ?? 'no body'}: ${status}`);
      }
    }
    expect(wrong, 'UI form routes that fail on a body they did not parse (req.body undefined): refuse it with 415 or read it as empty').toEqual([]);
    expect(errorLines()).toEqual([]);
  });
});
