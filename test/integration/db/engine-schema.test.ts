/**
 * The engine's tables and functions live in their own schema (TRIBUTARY_SCHEMA, default
 * `tributary`): a fresh migrate puts them there, an install from before the schema is moved there
 * with its rows, engine/sql is re-applied at every migrate (stale and changed functions too), a
 * user's table named like an engine table is the user's own, and no user table may live in the
 * engine's schema. Counted with our own catalog queries.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../../db/migrate.ts';
import { readEngineSql } from '../../../db/engine-sql.ts';
import { ENGINE_TABLES } from '../../../db/schema/engine-tables.ts';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { startTestEngine } from '../../support/engine.ts';
import { count, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from '../load/helpers.ts';

async function tablesIn(db: TestDatabase, schema: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ t: string }>(
    `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2) ORDER BY 1`,
    [schema, ENGINE_TABLES],
  );
  return rows.map((r) => r.t);
}

async function functionsIn(db: TestDatabase, schema: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ f: string }>(
    `SELECT p.proname AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = $1 AND p.proname LIKE 'trib\\_%' ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.f);
}

const definedFunctions = readEngineSql().flatMap((f) => f.functions).sort();

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await tempDir('engine-schema');
});
afterAll(async () => {
  await db.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('the engine schema', () => {
  it('a fresh migrate keeps every engine table and function in `tributary`, none in `public`', async () => {
    expect(await tablesIn(db, 'tributary')).toEqual([...ENGINE_TABLES].sort());
    expect(await tablesIn(db, 'public')).toEqual([]);
    expect(await functionsIn(db, 'tributary')).toEqual(definedFunctions);
    expect(await functionsIn(db, 'public')).toEqual([]);
    // Every file of engine/sql states its contract on top and defines at least one function.
    for (const file of readEngineSql()) {
      expect(file.text.startsWith('/*'), file.name).toBe(true);
      expect(file.functions.length, file.name).toBeGreaterThan(0);
    }
  });

  it('an install from before the schema moves to it with its rows; the old functions in public go', async () => {
    const old = await createTestDatabase();
    try {
      await old.pool.query(`INSERT INTO dags (dag_id, file) VALUES ('legacy', 'legacy.ts')`);
      await old.pool.query(`INSERT INTO dag_runs (dag_id, logical_date, interval_end, run_type) VALUES ('legacy', '2025-05-01', '2025-05-02', 'manual')`);
      // As the install was before this version: every engine table and function in public.
      for (const table of ENGINE_TABLES) await old.pool.query(`ALTER TABLE tributary.${table} SET SCHEMA public`);
      await old.pool.query('DROP SCHEMA tributary CASCADE');
      await old.pool.query(`CREATE FUNCTION public.trib_claim(bigint) RETURNS int LANGUAGE sql AS 'SELECT 1'`);
      expect((await runMigrations(old)).movedTables.sort()).toEqual([...ENGINE_TABLES].sort()); // said by `trib migrate`
      expect((await runMigrations(old)).movedTables).toEqual([]);
      expect(await tablesIn(old, 'public')).toEqual([]);
      expect(await tablesIn(old, 'tributary')).toEqual([...ENGINE_TABLES].sort());
      expect(await functionsIn(old, 'public')).toEqual([]);
      const { rows } = await old.pool.query(`SELECT r.dag_id FROM tributary.dag_runs r JOIN tributary.dags d USING (dag_id)`);
      expect(rows).toEqual([{ dag_id: 'legacy' }]);
    } finally {
      await old.drop();
    }
  });

  it('every migrate re-applies engine/sql: a stale function and an old overload are dropped', async () => {
    await db.pool.query(`CREATE FUNCTION tributary.trib_gone() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
    await db.pool.query(`CREATE FUNCTION tributary.trib_retry(bigint) RETURNS text LANGUAGE sql AS $$ SELECT 'old overload' $$`);
    await runMigrations(db);
    expect(await functionsIn(db, 'tributary')).toEqual(definedFunctions);
  });

  it('every migrate re-applies engine/sql: a function whose result type changed is made anew', async () => {
    await db.pool.query('DROP FUNCTION tributary.trib_heartbeat(bigint[], text, float8)');
    await db.pool.query(`CREATE FUNCTION tributary.trib_heartbeat(bigint[], text, float8) RETURNS text LANGUAGE sql AS $$ SELECT 'old' $$`);
    await runMigrations(db);
    expect(await functionsIn(db, 'tributary')).toEqual(definedFunctions);
    const { rows } = await db.pool.query<{ t: string }>(
      `SELECT format_type(prorettype, NULL) AS t FROM pg_proc WHERE oid = 'tributary.trib_heartbeat'::regproc`,
    );
    expect(rows).toEqual([{ t: 'integer' }]);
  });

  it("a user's table named like an engine table is the user's own; none may live in the engine's schema", async () => {
    const file = await writeFile(dir, 'r.csv', `${RATING_HEADER}\n1,1,1,a\n2,1,1,b\n`);
    const engineReports = await count(db, 'tributary.reports');
    const loaded = await runLoad(db, { source: { file }, target: 'reports', columns: RATING_COLUMNS });
    expect(loaded.rows_loaded).toBe(2);
    expect(await count(db, 'public.reports')).toBe(2);
    expect(await count(db, 'tributary.reports')).toBe(engineReports);
    for (const options of [
      { target: 'tributary.dags' },
      { target: 'tributary.mine' },
      { target: 'ratings_x', audit: 'tributary.ratings_x_rejects' },
    ]) {
      const err = await runLoad(db, { source: { file }, columns: RATING_COLUMNS, ...options }).then(() => null, (e: unknown) => e);
      expect(err, JSON.stringify(options)).toMatchObject({ code: 'TABLE_RESERVED' });
    }
    const { rows } = await db.pool.query(`SELECT to_regclass('tributary.mine') AS t, to_regclass('tributary.ratings_x_rejects') AS a`);
    expect(rows).toEqual([{ t: null, a: null }]);
  });

  it('TRIBUTARY_SCHEMA moves the engine: a DAG runs with its tables in the configured schema only', async () => {
    const dag = defineDag({ id: 'elsewhere', tasks: { a: { kind: 'effect' }, b: { kind: 'effect', upstream: ['a'] } } });
    const t = await startTestEngine({ backend: 'postgres', dags: [dag], schema: 'trib_alt' });
    try {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('elsewhere')!, { date: '2025-05-01' });
      expect(await t.waitForRun(runId)).toBe('success');
      const { rows } = await t.database.pool.query(
        `SELECT n.nspname AS schema, count(*)::int AS tables FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND c.relname = ANY($1) GROUP BY 1`,
        [ENGINE_TABLES],
      );
      expect(rows).toEqual([{ schema: 'trib_alt', tables: ENGINE_TABLES.length }]);
      const tasks = await t.database.pool.query(`SELECT count(*)::int AS n FROM trib_alt.task_instances WHERE state = 'success'`);
      expect(tasks.rows[0].n).toBe(2);
    } finally {
      await t.close();
    }
  });
});
