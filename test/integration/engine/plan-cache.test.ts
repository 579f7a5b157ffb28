/**
 * The engine's functions are planned once per connection, not on every call, on the PostgreSQL the
 * suite runs on (PG_BIN: Debian's 15 in CI; the embedded 18 otherwise). A LANGUAGE sql function
 * is planned again at every call before PostgreSQL 18 (plan_cache_mode does not reach it);
 * plpgsql keeps each statement's plan for the session. Counted by pg_stat_statements (its own
 * server: the library must be preloaded) after a chain and a fan-out: every statement the engine's
 * functions ran (toplevel = false) was planned at most once per connection of the engine's pool.
 */
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../../db/client.ts';
import { runMigrations } from '../../../db/migrate.ts';
import { compileDag, defineDag } from '../../../engine/dag.ts';
import { Engine } from '../../../engine/engine.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { TaskSpec } from '../../../engine/types.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import { redisUrl, uniquePrefix } from '../../support/db.ts';
import { freshDatabase, startPostgres, type PostgresServer } from '../../support/services.ts';

const TASKS = 40;
const POOL = 4;

const chainTasks: Record<string, TaskSpec> = {};
for (let i = 0; i < TASKS; i++) chainTasks[`t${i}`] = { kind: 'noop', upstream: i === 0 ? [] : [`t${i - 1}`] };
const specs = [
  defineDag({ id: 'chain', tasks: chainTasks }),
  defineDag({
    id: 'fanout',
    tasks: {
      list: { kind: 'noop', options: { result: Array.from({ length: TASKS }, (_, i) => i) } },
      each: { kind: 'noop', upstream: ['list'], mapOver: { task: 'list' } },
    },
  }),
];

interface Statement {
  query: string;
  plans: number;
  calls: number;
}

describe('plan cache', () => {
  let server: PostgresServer;
  let engine: Engine;
  let watcher: pg.Client;

  beforeAll(async () => {
    server = await startPostgres({
      preload: ['pg_stat_statements'],
      // Autovacuum off: an ANALYZE in the middle would rightly invalidate the plans.
      settings: { 'pg_stat_statements.track': 'all', 'pg_stat_statements.track_planning': 'on', autovacuum: 'off' },
    });
    const url = await freshDatabase(server.url, 'plan_cache');
    const database = connect(url);
    await runMigrations(database);
    await database.close();
    const kinds = builtinKinds();
    engine = new Engine({
      databaseUrl: url, queueBackend: 'redis', redisUrl: redisUrl(), queuePrefix: uniquePrefix('plans'), kinds,
      dags: new Map(specs.map((spec) => [spec.id, compileDag(spec, `test/${spec.id}.ts`, kinds)])),
      log: pino({ level: 'silent' }), poolSize: POOL,
    });
    await engine.register();
    engine.startWorkers({ concurrency: () => POOL });
    watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    await watcher.query('CREATE EXTENSION pg_stat_statements');
  });

  afterAll(async () => {
    await engine?.close();
    await watcher?.end();
    await server?.stop();
  });

  async function run(dagId: string, date: string): Promise<void> {
    const { runId } = await triggerRun(engine.pool, engine.dispatcher, engine.dag(dagId), { date });
    for (let i = 0; i < 1200; i++) {
      const { rows } = await watcher.query<{ state: string }>('SELECT state FROM tributary.dag_runs WHERE id = $1', [runId]);
      if (rows[0].state !== 'running') return void expect(rows[0].state).toBe('success');
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`run ${runId} of ${dagId} did not end`);
  }

  it(`plans each statement of the engine's functions at most once per connection (${TASKS}-task chain and fan-out)`, async () => {
    await watcher.query('SELECT pg_stat_statements_reset()');
    await run('chain', '2025-01-01');
    await run('fanout', '2025-01-02');
    const { rows } = await watcher.query<Statement>(
      `SELECT query, plans::int, calls::int FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND NOT toplevel AND calls >= $1
         AND query NOT LIKE 'SELECT $2 FROM ONLY %'`, // Postgres's own foreign-key checks (one plan per constraint)
      [TASKS],
    );
    // The claim's body runs once per try: found, and not planned per call.
    const claim = rows.find((s) => s.query.includes('claimed AS ('));
    expect(claim?.calls).toBeGreaterThanOrEqual(2 * TASKS);
    const replanned = rows.filter((s) => s.plans > POOL).map((s) => ({ plans: s.plans, calls: s.calls, query: s.query.slice(0, 120) }));
    expect(replanned).toEqual([]);
  });
});
