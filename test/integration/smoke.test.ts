import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createTestDatabase, redisUrl, type TestDatabase } from '../support/db.ts';

describe('real services', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => database.drop());

  it('has a migrated Postgres with the engine tables', async () => {
    const { rows } = await database.pool.query(
      `select table_name from information_schema.tables where table_schema='tributary' order by 1`,
    );
    expect(rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['dag_runs', 'dags', 'task_instances']));
  });

  it('has a Redis that answers', async () => {
    const redis = new Redis(redisUrl());
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
  });
});
