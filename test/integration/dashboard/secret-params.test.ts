/**
 * Secret params never leave: a DAG (a real file, as `trib` loads it) declares `warehouseDsn:
 * secret()` — a name the key pattern would not catch — a `secret().default(…)` and an env secret
 * `apiToken: secret({ env })`. A run triggered through the API goes to the end on a real worker;
 * then every GET route of API_ROUTES, every page of the run, `trib run show` / `trib runs --json`
 * and every stored log line are grepped: no secret value anywhere, while the task's result proves
 * it received each one (sha256). The env secret is never stored; given at trigger time it is
 * refused; an unset variable fails the task with SECRET_ENV_MISSING, without retries.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../../dashboard/api.ts';
import { startDashboard, type Dashboard } from '../../../dashboard/server.ts';
import { REDACTED } from '../../../engine/secret-params.ts';
import type { DagSpec, JobKind } from '../../../engine/types.ts';
import { cliEnv, REPO, trib } from '../../support/cli.ts';
import { ok } from '../../support/cli-ok.ts';
import { redisUrl } from '../../support/db.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const TOKEN = 'secret-params-token-0123456789';
const bearer = { authorization: `Bearer ${TOKEN}` };
const ENV_VAR = `TRIB_TEST_WAREHOUSE_TOKEN_${randomUUID().slice(0, 8).toUpperCase()}`;
const DSN = `host=warehouse dbname=db user=loader password=dsn-${randomUUID()}`;
const REPLICA = `replica-default-${randomUUID()}`;
const API_TOKEN = `tok-${randomUUID()}`;
/** Every secret value, whole, URL-encoded and its random tail alone (JSON escapes nothing in them). */
const SECRETS = [DSN, REPLICA, API_TOKEN].flatMap((s) => [s, encodeURIComponent(s), s.slice(-36)]);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** The DAG file: its `probe` kind logs the secrets (as a careless handler would) and returns their hashes. */
const DAG_FILE = `import { defineDag, defineJobKind, renderTemplate, secret, z } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'index.ts')).href)};
import { createHash } from 'node:crypto';

const sha = (text) => createHash('sha256').update(text).digest('hex');

export const probe = defineJobKind({
  name: 'secret_probe',
  options: z.object({ header: z.string() }),
  async handler(ctx, options) {
    const header = renderTemplate(options.header, ctx);
    const { warehouseDsn, replicaDsn, apiToken } = ctx.params;
    ctx.log.info({ dsn: warehouseDsn, header, nested: { replica: replicaDsn } }, \`connecting to \${warehouseDsn} with \${header}\`);
    ctx.log.warn({ err: new Error(\`refused \${apiToken}\`) }, 'token %s was refused once', apiToken);
    return { dsn: sha(warehouseDsn), replica: sha(replicaDsn), token: sha(apiToken), header: sha(header) };
  },
});

export default defineDag({
  id: 'secret_dag',
  params: {
    warehouseDsn: secret().describe('where the rows go'),
    replicaDsn: secret().default(${JSON.stringify(REPLICA)}),
    apiToken: secret({ env: ${JSON.stringify(ENV_VAR)} }),
    label: z.string().default('plain'),
  },
  tasks: { probe: { kind: 'secret_probe', retries: 2, retryDelayMs: 10, options: { header: 'Bearer {params.apiToken}' } } },
});
`;

let dir: string;
let t: TestEngine;
let dashboard: Dashboard;
let runId: number;
let env: NodeJS.ProcessEnv;

const call = (p: string, init: RequestInit = {}) => fetch(`${dashboard.url}${p}`, { redirect: 'manual', ...init, headers: { ...bearer, ...(init.headers ?? {}) } });
const sql = async <R extends object>(text: string, values: unknown[] = []) => (await t.database.pool.query<R>(text, values)).rows;
const trigger = (params: Record<string, string>, date?: string) =>
  call('/api/dags/secret_dag/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ date, params }) });

function expectNoSecret(where: string, body: string) {
  for (const s of SECRETS) expect(body.includes(s), `${where} shows a secret`).toBe(false);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-secret-params-'));
  const dagsDir = path.join(dir, 'dags');
  await fs.mkdir(dagsDir);
  await fs.writeFile(path.join(dagsDir, 'package.json'), '{ "type": "module" }\n');
  const file = path.join(dagsDir, 'secret_dag.ts');
  await fs.writeFile(file, DAG_FILE);
  const mod = (await import(pathToFileURL(file).href)) as { default: DagSpec; probe: JobKind };
  process.env[ENV_VAR] = API_TOKEN;
  t = await startTestEngine({ backend: 'redis', dags: [mod.default], kinds: [mod.probe] });
  dashboard = await startDashboard({ engine: t.engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }), backfillMaxRuns: 20 });
  env = cliEnv({ DATABASE_URL: t.database.url, QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl(), QUEUE_PREFIX: t.engine.options.queuePrefix, DAGS_DIR: dagsDir });
  const res = await trigger({ warehouseDsn: DSN });
  const body = await res.text();
  expect(res.status, body).toBe(201);
  expectNoSecret('the trigger answer', body);
  runId = (JSON.parse(body) as { runId: number }).runId;
  expect(await t.waitForRun(runId)).toBe('success');
}, 60_000);

afterAll(async () => {
  delete process.env[ENV_VAR];
  await dashboard?.close();
  await t?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('secret params of a run', () => {
  it('the task received every secret, the env one resolved at run time and in a {params.x} template', async () => {
    expect(t.dags.get('secret_dag')?.secretParams.size).toBe(3);
    const [row] = await sql<{ result: Record<string, string> }>(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'probe'`, [runId]);
    expect(row.result).toEqual({ dsn: sha(DSN), replica: sha(REPLICA), token: sha(API_TOKEN), header: sha(`Bearer ${API_TOKEN}`) });
  });

  it('stores the given and default secrets with the run, never the env one', async () => {
    const [run] = await sql<{ params: Record<string, string>; text: string }>('SELECT params, params::text AS text FROM dag_runs WHERE id = $1', [runId]);
    expect(run.params).toEqual({ warehouseDsn: DSN, replicaDsn: REPLICA, label: 'plain' });
    const [anywhere] = await sql<{ n: number }>(
      `SELECT (SELECT count(*) FROM dag_runs WHERE params::text LIKE '%' || $1 || '%')
            + (SELECT count(*) FROM task_instances WHERE coalesce(result::text, '') || coalesce(error, '') LIKE '%' || $1 || '%')::int AS n`, [API_TOKEN]);
    expect(anywhere.n).toBe(0);
  });

  it('no stored log line holds a secret, though the task logged each one', async () => {
    const lines = await sql<{ message: string; fields: string | null }>(
      `SELECT l.message, l.fields::text AS fields FROM task_logs l JOIN task_instances ti ON ti.id = l.task_instance_id WHERE ti.run_id = $1`, [runId]);
    expect(lines.map((l) => l.message)).toEqual(expect.arrayContaining([`connecting to ${REDACTED} with Bearer ${REDACTED}`, `token ${REDACTED} was refused once`]));
    for (const l of lines) expectNoSecret(`log line "${l.message}"`, `${l.message} ${l.fields ?? ''}`);
  });

  it('no GET route of the API shows a secret; the run shows the declared ones masked', async () => {
    const fill = (p: string) => p.replace('{dagId}', 'secret_dag').replace('{runId}', String(runId)).replace('{taskId}', 'probe').replace('{reportId}', '1');
    const QUERY: Record<string, string> = { '/runs/{runId}/logs': '?task=probe&limit=5000', '/runs/{runId}/refused': '?task=probe', '/dags/{dagId}/backfill': '?from=2025-01-01&to=2025-01-02' };
    const gets = API_ROUTES.filter((r) => r.method === 'get');
    expect(gets.length).toBeGreaterThan(10);
    const statuses: Record<string, number> = {};
    for (const route of gets) {
      const res = await call(`/api${fill(route.path)}${QUERY[route.path] ?? ''}`);
      statuses[route.path] = res.status;
      expectNoSecret(`GET /api${route.path}`, await res.text());
    }
    expect(statuses).toMatchObject({ '/dags': 200, '/dags/{dagId}/runs': 200, '/runs/{runId}': 200, '/runs/{runId}/logs': 200, '/runs/{runId}/attempts': 200 });
    const detail = (await (await call(`/api/runs/${runId}`)).json()) as { params: Record<string, string> };
    expect(detail.params).toEqual({ warehouseDsn: REDACTED, replicaDsn: REDACTED, label: 'plain' });
    const runs = (await (await call('/api/dags/secret_dag/runs')).json()) as Array<{ params: Record<string, string> }>;
    expect(runs[0].params.warehouseDsn).toBe(REDACTED);
  });

  it('no page shows a secret: the run page masks them, the trigger form keeps the default off the page', async () => {
    const pages = ['/', '/dags/secret_dag', '/dags/secret_dag/backfill?from=2025-01-01&to=2025-01-02', `/runs/${runId}`, `/runs/${runId}?log=probe`, `/runs/${runId}/refused?task=probe`];
    const bodies: Record<string, string> = {};
    for (const p of pages) {
      const res = await call(p, { headers: { accept: 'text/html' } });
      bodies[p] = await res.text();
      expect(res.status, p).toBeLessThan(p.includes('refused') ? 500 : 300);
      expectNoSecret(`page ${p}`, bodies[p]);
    }
    const shown = /<code id="params">([^<]*)<\/code>/.exec(bodies[`/runs/${runId}`])?.[1] ?? '';
    expect(JSON.parse(shown.replaceAll('&#34;', '"'))).toEqual({ warehouseDsn: REDACTED, replicaDsn: REDACTED, label: 'plain' });
    expect(bodies[`/runs/${runId}?log=probe`]).toContain(`connecting to ${REDACTED}`);
    const form = bodies['/dags/secret_dag'];
    expect(form).toMatch(/name="param\.warehouseDsn" type="password"/);
    expect(form).toMatch(/name="param\.replicaDsn" type="password"/);
    expect(form).not.toContain('name="param.apiToken"');
    expect(form).toContain(`<code>${ENV_VAR}</code>`);
  });

  it('a date whose run exists with another secret: RUN_EXISTS names neither value', async () => {
    const made = await trigger({ warehouseDsn: DSN }, '2025-01-01');
    expect(made.status).toBe(201);
    const other = await trigger({ warehouseDsn: `${DSN}-other` }, '2025-01-01');
    const body = (await other.json()) as { error: string; message: string };
    expect(other.status).toBe(409);
    expect(body.error).toBe('RUN_EXISTS');
    expect(body.message).toContain(`"warehouseDsn":"${REDACTED}"`);
    expectNoSecret('the RUN_EXISTS answer', body.message);
    expect(await t.waitForRun(((await made.json()) as { runId: number }).runId)).toBe('success');
  });

  it('`trib run show` (table and --json) and `trib runs --json` mask them', async () => {
    for (const args of [['run', 'show', String(runId)], ['run', 'show', String(runId), '--json'], ['runs', 'secret_dag', '--json']]) {
      const out = ok(await trib(args, env, 60_000));
      expectNoSecret(`trib ${args.join(' ')}`, out);
      expect(out, `trib ${args.join(' ')}`).toContain(REDACTED);
    }
  }, 120_000);
});

describe('an env secret', () => {
  it('given at trigger time is refused, naming the param and the variable; nothing is created', async () => {
    const [before] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM dag_runs');
    const res = await trigger({ warehouseDsn: DSN, apiToken: API_TOKEN });
    const body = (await res.json()) as { error: string; message: string };
    expect(res.status).toBe(400);
    expect(body.error).toBe('ARGUMENT_INVALID');
    expect(body.message).toContain('"apiToken"');
    expect(body.message).toContain(ENV_VAR);
    expectNoSecret('the refusal', JSON.stringify(body));
    expect((await sql<{ n: number }>('SELECT count(*)::int AS n FROM dag_runs'))[0].n).toBe(before.n);
  });

  it('unset on the worker fails the task at once with SECRET_ENV_MISSING naming the variable', async () => {
    delete process.env[ENV_VAR];
    const res = await trigger({ warehouseDsn: DSN });
    expect(res.status).toBe(201);
    const failed = ((await res.json()) as { runId: number }).runId;
    expect(await t.waitForRun(failed)).toBe('failed');
    const [task] = await sql<{ state: string; error_code: string; error: string; try_number: number }>(
      `SELECT state, error_code, error, try_number FROM task_instances WHERE run_id = $1 AND task_id = 'probe'`, [failed]);
    expect(task).toMatchObject({ state: 'failed', error_code: 'SECRET_ENV_MISSING', try_number: 1 });
    expect(task.error).toContain(ENV_VAR);
    expectNoSecret('the stored error', task.error);
  });
});
