/**
 * The security suite's server: a real engine (Redis queues, its own database, real workers) with a
 * DAG that ran to the end (a noop, then a report with its file), a real dashboard on loopback, and
 * named users viewer `vera`, operator `otto`, admin `ada`. Also the twelve credentials of the matrix
 * (seven bad, five good), and a snapshot of everything a state change could move (DAG paused flags,
 * runs, task instances, queue counts and paused flags) to compare before and after.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createDashboardApp, startDashboard, type Dashboard } from '../../dashboard/server.ts';
import { SessionStore } from '../../dashboard/sessions.ts';
import { UserStore, type Role } from '../../dashboard/users.ts';
import { defineDag } from '../../engine/dag.ts';
import type { DagSpec, JobKind } from '../../engine/types.ts';
import { browserLogin, logout } from '../integration/dashboard/browser-login.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import type { Ids } from './routes.ts';

export const TOKEN = 'security-suite-shared-token-0123456789';
export const PASSWORDS = { vera: 'vera-password-123', otto: 'otto-password-456', ada: 'ada-password-7890' } as const;
export const DAG_ID = 'sec_demo';

/** The DAG: a noop, then a report; with `probe`, also a task of that kind after the noop. */
export function demoDag(outputDir: string, params?: DagSpec['params'], probe?: JobKind): DagSpec {
  return defineDag({
    id: DAG_ID,
    params,
    tasks: {
      a: { kind: 'noop' },
      summary: { kind: 'report', upstream: ['a'], options: { query: 'SELECT 1 AS n, :logical_date::date AS day', fileName: 'summary_{yyyymmdd}.csv', outputDir } },
      ...(probe ? { probe: { kind: probe.name, upstream: ['a'] } } : {}),
    },
  });
}

export interface Server {
  t: TestEngine;
  dashboard: Dashboard;
  users: UserStore;
  /** The run that went to the end, its report and a job of the noop queue. */
  ids: Ids;
  runId: number;
  /** Mints a session row for `user` (as a login does), for requests that may end it. */
  mintSession(user: keyof typeof PASSWORDS): Promise<{ cookie: string; csrf: string }>;
  /** The Express app the server runs, for walking its routes. */
  app(): ReturnType<typeof createDashboardApp>;
  close(): Promise<void>;
}

export async function startServer(opts: { log: Logger; params?: DagSpec['params']; triggerParams?: Record<string, string>; probe?: JobKind }): Promise<Server> {
  const outputDir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-security-'));
  const t = await startTestEngine({ backend: 'redis', dags: [demoDag(outputDir, opts.params, opts.probe)], kinds: opts.probe ? [opts.probe] : [], concurrency: 1 });
  const dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: opts.log });
  const users = new UserStore(t.database.pool);
  await users.add('vera', 'viewer', PASSWORDS.vera);
  await users.add('otto', 'operator', PASSWORDS.otto);
  await users.add('ada', 'admin', PASSWORDS.ada);

  const res = await fetch(`${dashboard.url}/api/dags/${DAG_ID}/runs`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date: '2025-05-14', params: opts.triggerParams ?? {} }),
  });
  if (res.status !== 201) throw new Error(`seed trigger: ${res.status} ${await res.text()}`);
  const runId = ((await res.json()) as { runId: number }).runId;
  const state = await t.waitForRun(runId);
  if (state !== 'success') throw new Error(`seed run ${runId} ended ${state}: ${JSON.stringify(await t.taskStates(runId))}`);
  const [report] = (await t.database.pool.query<{ id: string }>('SELECT id FROM reports WHERE run_id = $1', [runId])).rows;
  const [job] = await t.engine.backend.queue('noop').getJobs(['completed']);
  const ids: Ids = {
    dag: DAG_ID, run: String(runId), task: 'summary', report: String(report.id), queue: 'noop', job: job?.id ?? '1', queueStatus: 'completed', scheduler: 'none',
  };
  const store = new SessionStore(t.database.pool, TOKEN, { idleMs: 3_600_000, maxAgeMs: 7_200_000 });
  return {
    t, dashboard, users, ids, runId,
    async mintSession(user) {
      const { id, csrfToken } = await store.create({ address: '127.0.0.1', userAgent: 'security-suite', user });
      return { cookie: `tributary_session=${id}`, csrf: csrfToken };
    },
    app: () => createDashboardApp({ engine: t.engine, token: TOKEN, log: opts.log }),
    async close() {
      await dashboard.close();
      await t.close();
      await fs.rm(outputDir, { recursive: true, force: true });
    },
  };
}

export interface Credential {
  name: string;
  /** One of the seven that must get nowhere. */
  bad: boolean;
  role?: Role;
  /** Headers for one request; a session credential sends its CSRF token unless `csrf` is false. */
  headers(opts: { write: boolean; csrf: boolean }): Promise<Record<string, string>>;
}

const fixed = (name: string, h: Record<string, string>): Credential => ({ name, bad: true, headers: async () => h });

/** The matrix's twelve credentials, made against a running server. */
export async function credentials(s: Server): Promise<Credential[]> {
  const base = s.dashboard.url;
  const revoked = await browserLogin(base, PASSWORDS.otto, 'security-suite', 'otto');
  await logout(base, revoked);
  const expired = await s.mintSession('otto');
  await s.t.database.pool.query(`UPDATE dashboard_sessions SET expires_at = now() - interval '1 second' WHERE csrf_token = $1`, [expired.csrf]);
  const gone = await s.users.addToken('otto', 'revoked');
  await s.users.revokeToken(gone.id);
  const viewerToken = (await s.users.addToken('vera', 'script')).token;
  /** A session of `user`: one real login for reads; a fresh row for each write (it may be /logout). */
  const session = async (name: string, user: keyof typeof PASSWORDS, role: Role): Promise<Credential> => {
    const login = await browserLogin(base, PASSWORDS[user], 'security-suite', user);
    return {
      name, bad: false, role,
      async headers({ write, csrf }): Promise<Record<string, string>> {
        const { cookie, csrf: token } = write ? await s.mintSession(user) : login;
        return csrf ? { cookie, 'x-csrf-token': token } : { cookie };
      },
    };
  };
  return [
    fixed('none', {}),
    fixed('wrong bearer', { authorization: `Bearer ${randomBytes(24).toString('hex')}` }),
    fixed('wrong basic', { authorization: `Basic ${Buffer.from(`ada:${PASSWORDS.ada}`).toString('base64')}` }),
    fixed('forged cookie', { cookie: `tributary_session=${randomBytes(32).toString('base64url')}` }),
    fixed('revoked session', { cookie: revoked.cookie, 'x-csrf-token': revoked.csrf }),
    fixed('expired session', { cookie: expired.cookie, 'x-csrf-token': expired.csrf }),
    fixed('revoked trib_ token', { authorization: `Bearer ${gone.token}` }),
    await session('viewer session', 'vera', 'viewer'),
    { name: 'viewer token', bad: false, role: 'viewer', headers: async () => ({ authorization: `Bearer ${viewerToken}` }) },
    await session('operator session', 'otto', 'operator'),
    await session('admin session', 'ada', 'admin'),
    { name: 'shared token', bad: false, role: 'admin', headers: async () => ({ authorization: `Bearer ${TOKEN}` }) },
  ];
}

/** Everything a state change could move, as one comparable string. */
export async function snapshot(t: TestEngine): Promise<string> {
  const { rows } = await t.database.pool.query<{ s: unknown }>(`SELECT json_build_object(
    'dags', (SELECT json_agg(json_build_object('dag', dag_id, 'paused', paused) ORDER BY dag_id) FROM dags),
    'runs', (SELECT json_agg(json_build_object('id', id, 'state', state) ORDER BY id) FROM dag_runs),
    'tasks', (SELECT json_agg(json_build_object('id', id, 'state', state, 'try', try_number) ORDER BY id) FROM task_instances)) AS s`);
  const queues: Record<string, unknown> = {};
  for (const name of t.engine.options.kinds.keys()) {
    const q = t.engine.backend.queue(name);
    queues[name] = { paused: await q.isPaused(), counts: await q.getJobCounts() };
  }
  return JSON.stringify({ db: rows[0].s, queues });
}
