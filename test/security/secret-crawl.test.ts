/**
 * The whole-crawl check of secret params (issue 19 item 6): the harness DAG declares
 * `warehouseDsn: secret()` (a name no key pattern catches), a run is triggered with a value through
 * the API and through the UI form, and a `probe` task logs the value as a careless handler would.
 * Then every GET route of the matrix (API, pages, bull-board) is fetched as an admin, with real ids
 * and the log views of the probe, and every body is grepped, as are the audit page, /api/audit, every
 * line the dashboard's pino logger wrote and every task_logs row: the value appears nowhere, while
 * the task's result proves it received it. (The CLI's output is checked in
 * test/integration/dashboard/secret-params.test.ts.)
 */
import { createHash, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED, secret } from '../../engine/secret-params.ts';
import type { JobKind } from '../../engine/types.ts';
import { browserLogin } from '../integration/dashboard/browser-login.ts';
import { DAG_ID, PASSWORDS, startServer, TOKEN, type Server } from './harness.ts';
import { discoverRoutes, fill, isPublic, QUERY } from './routes.ts';

const SECRET = `wh-${randomUUID()}`;
const FORM_SECRET = `wh-form-${randomUUID()}`;
/** Each value whole, and its random tail alone (survives any quoting or encoding around it). */
const NEEDLES = [SECRET, FORM_SECRET].flatMap((v) => [v, v.slice(-36)]);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Logs the secret in its message and fields, returns its hash. */
const probe: JobKind<Record<string, never>> = {
  name: 'secret_probe',
  options: z.object({}).strict().prefault({}),
  async handler(ctx) {
    const dsn = String(ctx.params.warehouseDsn);
    ctx.log.info({ dsn, nested: { dsn } }, `connecting to ${dsn}`);
    ctx.log.warn({ err: new Error(`refused ${dsn}`) }, 'dsn %s refused once', dsn);
    return { dsn: sha(dsn) };
  },
};

let s: Server;
const logLines: string[] = [];
let formRunId: number;

beforeAll(async () => {
  const log = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  s = await startServer({ log, params: { warehouseDsn: secret().describe('where rows go'), label: z.string().default('plain') }, triggerParams: { warehouseDsn: SECRET }, probe: probe as JobKind });
  // The second value comes through the UI's trigger form, as an operator would type it.
  const admin = await browserLogin(s.dashboard.url, PASSWORDS.ada, 'security-suite', 'ada');
  const res = await fetch(`${s.dashboard.url}/dags/${DAG_ID}/trigger`, {
    method: 'POST', redirect: 'manual', headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: admin.csrf, 'param.warehouseDsn': FORM_SECRET, 'param.label': 'form' }),
  });
  expect(res.status).toBe(303);
  formRunId = Number(/\/runs\/(\d+)$/.exec(res.headers.get('location') ?? '')?.[1]);
  expect(await s.t.waitForRun(formRunId)).toBe('success');
}, 90_000);

afterAll(async () => {
  await s?.close();
});

const sql = async <R extends object>(text: string, values: unknown[] = []) => (await s.t.database.pool.query<R>(text, values)).rows;
const leaks = (text: string) => NEEDLES.filter((n) => text.includes(n));

describe('a declared secret param, crawled', () => {
  it('reached the task in both runs (the crawl below looks for something that exists)', async () => {
    const rows = await sql<{ run_id: number; result: { dsn: string } }>(`SELECT run_id::int, result FROM task_instances WHERE task_id = 'probe' ORDER BY run_id`);
    expect(rows.map((r) => r.result.dsn)).toEqual([sha(SECRET), sha(FORM_SECRET)]);
    expect(rows[1].run_id).toBe(formRunId);
  });

  it('no GET route of the matrix, log view, audit page or /api/audit shows it to an admin', async () => {
    const { cookie } = await browserLogin(s.dashboard.url, PASSWORDS.ada, 'security-suite', 'ada');
    const gets = discoverRoutes(s.app()).routes.filter((r) => r.method === 'GET' && !isPublic(r));
    expect(gets.length).toBeGreaterThan(40);
    const urls = new Set<string>();
    for (const run of [s.ids.run, String(formRunId)]) {
      for (const r of gets) urls.add(`${fill(r.path, { ...s.ids, run })}${QUERY[`${r.method} ${r.path}`] ?? ''}`);
      for (const extra of [`/runs/${run}?log=probe`, `/api/runs/${run}/logs?task=probe&limit=5000`, `/api/runs/${run}/logs?task=probe&q=wh-`]) urls.add(extra);
    }
    for (const extra of ['/audit', '/audit?action=trigger', '/api/audit', '/api/audit?action=trigger', `/api/dags/${DAG_ID}/runs?limit=500`]) urls.add(extra);
    const found: string[] = [];
    const statuses = new Map<string, number>();
    for (const url of urls) {
      const res = await fetch(`${s.dashboard.url}${url}`, { redirect: 'manual', headers: { cookie, accept: url.startsWith('/api/') || url.startsWith('/queues/api/') ? 'application/json' : 'text/html' } });
      const body = await res.text();
      statuses.set(url, res.status);
      if (leaks(body).length > 0) found.push(`${url} (${res.status})`);
    }
    expect(found, 'responses showing the secret').toEqual([]);
    // The crawl read real data: the runs, their logs and the audit rows of both triggers.
    for (const url of [`/api/runs/${formRunId}`, `/runs/${formRunId}?log=probe`, '/api/audit?action=trigger', '/audit']) expect(statuses.get(url), url).toBe(200);
    const detail = (await (await fetch(`${s.dashboard.url}/api/runs/${formRunId}`, { headers: { cookie } })).json()) as { params: Record<string, string> };
    expect(detail.params).toEqual({ warehouseDsn: REDACTED, label: 'form' });
    const audit = (await (await fetch(`${s.dashboard.url}/api/audit?action=trigger`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Array<{ params: unknown }>;
    expect(JSON.stringify(audit)).toContain(REDACTED);
    const logs = await (await fetch(`${s.dashboard.url}/api/runs/${formRunId}/logs?task=probe`, { headers: { cookie } })).text();
    expect(logs).toContain(`connecting to ${REDACTED}`);
  });

  it('no line of the dashboard\'s log and no stored task log line holds it', async () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => leaks(l).length > 0)).toEqual([]);
    const lines = await sql<{ message: string; fields: string | null }>('SELECT message, fields::text AS fields FROM task_logs');
    expect(lines.some((l) => l.message === `connecting to ${REDACTED}`)).toBe(true);
    expect(lines.filter((l) => leaks(`${l.message} ${l.fields ?? ''}`).length > 0)).toEqual([]);
  });
});
