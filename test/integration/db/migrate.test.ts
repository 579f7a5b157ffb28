/**
 * Down migrations (db/migrate.ts rollbackMigration, `trib migrate --down`): refusals with a code,
 * the journal row removed with the schema change, and a rolled-back migration older than the
 * newest applied one applied again by runMigrations (drizzle alone would skip it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackMigration, runMigrations } from '../../../db/migrate.ts';
import { cliEnv, trib } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

const TAG = '0006_multi_currency';

describe('down migrations', () => {
  let db: TestDatabase;
  const applied = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).rows[0].n;
  const hasCurrency = async () =>
    (await db.pool.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = 'credit_platform' AND column_name = 'currency'`)).rowCount;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('refuses an unknown tag, a migration without a down file and one that is not applied', async () => {
    await expect(rollbackMigration(db, '9999_nope')).rejects.toMatchObject({ code: 'ARGUMENT_INVALID', message: expect.stringContaining('unknown migration "9999_nope"') });
    await expect(rollbackMigration(db, '0000_engine')).rejects.toMatchObject({ code: 'ARGUMENT_INVALID', message: expect.stringContaining('has no down migration') });
    const before = await applied();
    await rollbackMigration(db, TAG);
    await expect(rollbackMigration(db, TAG)).rejects.toMatchObject({ code: 'ARGUMENT_INVALID', message: expect.stringContaining('is not applied') });
    expect(await applied()).toBe(before - 1);
    await runMigrations(db);
    expect(await applied()).toBe(before);
  });

  it('applies a rolled-back migration again even when a newer one is applied', async () => {
    const count = await applied();
    await rollbackMigration(db, TAG);
    expect(await hasCurrency()).toBe(0);
    // A newer migration recorded after it (e.g. generated later on another branch): drizzle would skip TAG.
    await db.pool.query(`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('newer', 9999999999999)`);
    await runMigrations(db);
    expect(await hasCurrency()).toBe(6);
    await db.pool.query(`DELETE FROM drizzle.__drizzle_migrations WHERE hash = 'newer'`);
    expect(await applied()).toBe(count);
  });

  it('0020 drops the index on task_instances.state; its down migration makes it again', async () => {
    const stateIndex = async () =>
      (await db.pool.query(`SELECT 1 FROM pg_indexes WHERE schemaname = 'tributary' AND indexname = 'task_instances_state'`)).rowCount;
    expect(await stateIndex()).toBe(0);
    await rollbackMigration(db, '0020_task_instances_no_state_index');
    expect(await stateIndex()).toBe(1);
    await runMigrations(db);
    expect(await stateIndex()).toBe(0);
  });

  it('trib migrate --down rolls back and reports a refusal in one line', async () => {
    const env = cliEnv({ DATABASE_URL: db.url });
    const down = await trib(['migrate', '--down', TAG], env);
    expect(down).toMatchObject({ code: 0, stdout: expect.stringContaining(`migration ${TAG} rolled back`) });
    expect(await hasCurrency()).toBe(0);
    const again = await trib(['migrate', '--down', TAG], env);
    expect(again.code).toBe(2); // a bad argument
    expect(again.stderr.trim().split('\n')).toEqual([`trib: ARGUMENT_INVALID: migration "${TAG}" is not applied to this database`]);
    expect((await trib(['migrate'], env)).code).toBe(0);
    expect(await hasCurrency()).toBe(6);
  });
});
