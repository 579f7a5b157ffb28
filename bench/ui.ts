/**
 * bench:ui — the dashboard served by the real server on a seeded database: a 20-task DAG with
 * 1,000 then 10,000 runs (all task instances, 30 check results a run = 300k at 10k, 1M refused
 * rows and 2,000 log lines on the newest run). Measures p50/p99 of the home page, the DAG grid
 * (first page), the run page, the refused-rows page 500, the audit log page (10,000 audit rows) and
 * /metrics at both sizes, signed in as a named operator with a session cookie — looked up in
 * dashboard_sessions (among 10,000 other sessions) on every request, as a browser is; progress on
 * stderr, ONE JSON line on stdout. Goal: every p99 < 150 ms, flat between 1k and 10k runs.
 */
import pg from 'pg';
import { pino } from 'pino';
import { freshDatabase, startServices } from '../test/support/services.ts';
import { connect } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { compileDag, defineDag } from '../engine/dag.ts';
import { Engine } from '../engine/engine.ts';
import { builtinKinds } from '../jobs/index.ts';
import { auditTarget } from '../jobs/load/audit.ts';
import { startDashboard } from '../dashboard/server.ts';
import { UserStore } from '../dashboard/users.ts';

const log = (msg: string) => process.stderr.write(`[bench:ui] ${msg}\n`);
const TOKEN = 'bench-ui-token-0123456789';
const TASKS = 20;
const SAMPLES = 60;
const WARMUP = 5;
const REFUSED_ROWS = 1_000_000;
const CHECKS_PER_RUN = 30;
const OTHER_SESSIONS = 10_000;
const AUDIT_ROWS = 10_000;
const PASSWORD = 'bench-ui-password-0123';

const dag = defineDag({
  id: 'bench_ui',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  tasks: {
    t00: {
      kind: 'load',
      options: {
        source: { file: '/tmp/bench-ui/{yyyymmdd}.csv' }, target: 'bench_ui_rows', mode: 'append',
        columns: [{ name: 'id', type: 'integer' }, { name: 'amount', type: 'integer', min: 0 }],
      },
    },
    ...Object.fromEntries(Array.from({ length: TASKS - 1 }, (_, i) => [`t${String(i + 1).padStart(2, '0')}`, { kind: 'noop', upstream: [i === 0 ? 't00' : `t${String(i).padStart(2, '0')}`] }])),
  },
});

/** Runs `from`..`to` (1-based, run n has logical date 2000-01-01 + n days), each with its 20 tasks and 30 checks. */
async function seedRuns(pool: pg.Pool, from: number, to: number): Promise<void> {
  await pool.query(
    `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type, started_at, ended_at)
     SELECT 'bench_ui', timestamptz '2000-01-01 06:00Z' + g * interval '1 day', timestamptz '2000-01-02 06:00Z' + g * interval '1 day',
       CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'success' END, 'scheduled',
       timestamptz '2000-01-02 06:00Z' + g * interval '1 day', timestamptz '2000-01-02 06:05Z' + g * interval '1 day'
     FROM generate_series($1::int, $2::int) g`, [from, to]);
  await pool.query(
    `INSERT INTO task_instances (run_id, task_id, state, try_number, max_tries, queue, result, started_at, ended_at, duration_ms)
     SELECT r.id, 't' || lpad(t::text, 2, '0'), CASE WHEN r.state = 'failed' AND t = 7 THEN 'failed' WHEN r.state = 'failed' AND t > 7 THEN 'upstream_failed' ELSE 'success' END,
       1, 1, CASE WHEN t = 0 THEN 'load' ELSE 'noop' END,
       CASE WHEN t = 0 THEN jsonb_build_object('rows_read', 1100, 'rows_loaded', 1000, 'rows_rejected', 100, 'rows_deduplicated', 0,
         'files', jsonb_build_array(jsonb_build_object('path', '/data/f.csv', 'sha256', md5(r.id::text), 'rows_read', 1100, 'rows_loaded', 1000,
           'rows_rejected', 100, 'rows_deduplicated', 0, 'skipped', false, 'coercions', '{}'::jsonb))) END,
       r.started_at, r.ended_at, 1000 + t
     FROM dag_runs r CROSS JOIN generate_series(0, $3::int - 1) t
     WHERE r.dag_id = 'bench_ui' AND r.logical_date >= timestamptz '2000-01-01 06:00Z' + $1::int * interval '1 day'
       AND r.logical_date <= timestamptz '2000-01-01 06:00Z' + $2::int * interval '1 day'`, [from, to, TASKS]);
  await pool.query(
    `INSERT INTO check_results (run_id, task_id, try_number, check_name, check_kind, table_name, severity, rows_evaluated, rows_failing, outcome, duration_ms)
     SELECT r.id, 't01', 1, 'check_' || c, 'not_null', 'bench_ui_rows', 'error', 1000, c % 3, CASE WHEN c % 3 = 0 THEN 'pass' ELSE 'fail' END, 5
     FROM dag_runs r CROSS JOIN generate_series(1, $3::int) c
     WHERE r.dag_id = 'bench_ui' AND r.logical_date >= timestamptz '2000-01-01 06:00Z' + $1::int * interval '1 day'
       AND r.logical_date <= timestamptz '2000-01-01 06:00Z' + $2::int * interval '1 day'`, [from, to, CHECKS_PER_RUN]);
  await pool.query('ANALYZE');
}

/** The newest run: 1M refused rows for t00 and 2,000 log lines. */
async function seedNewest(pool: pg.Pool, runId: number): Promise<void> {
  const audit = auditTarget('bench_ui_rows');
  await pool.query('CREATE SCHEMA IF NOT EXISTS audit');
  await pool.query(`CREATE TABLE IF NOT EXISTS ${audit.sql} (id bigserial PRIMARY KEY, run_id text NOT NULL, task_id text NOT NULL, map_index integer NOT NULL DEFAULT -1,
    file text NOT NULL, line bigint NOT NULL, raw text NOT NULL, record jsonb, errors jsonb NOT NULL, reason text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`CREATE INDEX IF NOT EXISTS bench_ui_rows_rejects_run ON ${audit.sql} (run_id, task_id)`);
  await pool.query(
    `INSERT INTO ${audit.sql} (run_id, task_id, file, line, raw, record, errors, reason)
     SELECT $1, 't00', '/data/f.csv', g + 1, g || ',-' || g, jsonb_build_object('id', g::text, 'amount', '-' || g),
       jsonb_build_array(jsonb_build_object('column', 'amount', 'rule', 'min', 'message', 'below the minimum 0', 'value', '-' || g)), 'amount: below the minimum 0'
     FROM generate_series(1, $2::int) g`, [String(runId), REFUSED_ROWS]);
  await pool.query(
    `INSERT INTO task_logs (task_instance_id, try_number, level, message)
     SELECT ti.id, 1, 'info', 'line ' || g FROM task_instances ti CROSS JOIN generate_series(1, 2000) g WHERE ti.run_id = $1 AND ti.task_id = 't00'`, [runId]);
  await pool.query('ANALYZE');
}

/** Leaves nothing behind on a shared server: the seeded database is a million rows and more. */
async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
}

/** Other users' sessions and a history of audited actions, so lookups and the audit page work on real sizes. */
async function seedAccess(pool: pg.Pool): Promise<void> {
  await pool.query(
    `INSERT INTO dashboard_sessions (id_hash, idle_expires_at, expires_at, address, user_agent, credential, csrf_token, user_name)
     SELECT md5(i::text) || md5((i + 1)::text), now() + interval '12 hours', now() + interval '7 days', '127.0.0.1', 'bench', 'x', md5(i::text), 'bench'
     FROM generate_series(1, $1) i`, [OTHER_SESSIONS]);
  await pool.query(
    `INSERT INTO audit_events (actor, role, via, action, target, params, outcome, status, address)
     SELECT 'bench', 'operator', 'api', (ARRAY['trigger', 'pause', 'clear', 'mark', 'login'])[1 + i % 5], 'dag bench_ui',
            jsonb_build_object('note', 'row ' || i), 'ok', 200, '127.0.0.1'
     FROM generate_series(1, $1) i`, [AUDIT_ROWS]);
}

/** A browser's session cookie for the named operator `bench`. */
async function login(base: string): Promise<string> {
  const res = await fetch(`${base}/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ user: 'bench', token: PASSWORD }),
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

async function measure(url: string, cookie: string): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers: { cookie } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    if (i >= WARMUP) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main() {
  const services = await startServices({ redis: true });
  const databaseUrl = await freshDatabase(services.databaseUrl, 'bench_ui');
  const database = connect(databaseUrl);
  await runMigrations(database);
  const kinds = builtinKinds();
  const engine = new Engine({
    databaseUrl, queueBackend: 'redis', redisUrl: services.redisUrl, queuePrefix: 'bench_ui', log: pino({ level: 'silent' }),
    dags: new Map([[dag.id, compileDag(dag, 'bench/ui.ts', kinds)]]), kinds,
  });
  await engine.register();
  const dashboard = await startDashboard({ engine, port: 0, token: TOKEN, log: pino({ level: 'silent' }) });
  const out: Record<string, unknown> = {};
  try {
    await new UserStore(database.pool).add('bench', 'operator', PASSWORD);
    await seedAccess(database.pool);
    const cookie = await login(dashboard.url);
    for (const [from, to] of [[1, 1000], [1001, 10_000]]) {
      log(`seeding runs ${from}..${to}`);
      await seedRuns(database.pool, from, to);
      const { rows } = await database.pool.query<{ id: string }>(`SELECT id FROM dag_runs WHERE dag_id = 'bench_ui' ORDER BY logical_date DESC LIMIT 1`);
      const newest = Number(rows[0].id);
      log(`seeding ${REFUSED_ROWS} refused rows and logs on run ${newest}`);
      await database.pool.query(`DROP TABLE IF EXISTS ${auditTarget('bench_ui_rows').sql}`);
      await seedNewest(database.pool, newest);
      const page500 = await database.pool.query<{ id: string }>(
        `SELECT id FROM ${auditTarget('bench_ui_rows').sql} WHERE run_id = $1 AND task_id = 't00' ORDER BY id OFFSET 49899 LIMIT 1`, [String(newest)]);
      const pages = {
        home: '/',
        grid: '/dags/bench_ui',
        run: `/runs/${newest}`,
        refused_page_500: `/runs/${newest}/refused?task=t00&after=${page500.rows[0].id}`,
        audit: '/audit',
        metrics: '/metrics',
      };
      const result: Record<string, { p50: number; p99: number }> = {};
      for (const [name, p] of Object.entries(pages)) {
        result[name] = await measure(`${dashboard.url}${p}`, cookie);
        log(`${to} runs ${name}: p50 ${result[name].p50} ms, p99 ${result[name].p99} ms`);
      }
      out[`runs_${to}`] = result;
    }
    out.tasks_per_run = TASKS;
    out.refused_rows = REFUSED_ROWS;
    out.check_results = 10_000 * CHECKS_PER_RUN;
    out.auth = `session cookie of a named operator, looked up among ${OTHER_SESSIONS + 1} sessions per request`;
    out.audit_rows = AUDIT_ROWS;
    process.stdout.write(`${JSON.stringify({ bench: 'ui', ...out })}\n`);
  } finally {
    await dashboard.close();
    await engine.close();
    await database.close();
    await dropDatabase(services.databaseUrl, 'bench_ui');
    await services.stop();
  }
}

await main();
