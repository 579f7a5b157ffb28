/** Every test file owns its data: a fresh database (migrated) per call, dropped at the end. */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import { connect, type Database } from '../../db/client.ts';
import { runMigrations } from '../../db/migrate.ts';

export interface TestDatabase extends Database {
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

export function serverUrl(): string {
  return inject('databaseUrl');
}

export function redisUrl(): string {
  return inject('redisUrl');
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(options: { migrate?: boolean; max?: number; schema?: string } = {}): Promise<TestDatabase> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(serverUrl(), name);
  const database = connect(url, { max: options.max ?? 10, schema: options.schema });
  if (options.migrate !== false) await runMigrations(database);
  return {
    ...database,
    url,
    name,
    drop: async () => {
      await database.close();
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A queue prefix no other test file uses. */
export function uniquePrefix(label = 'q'): string {
  return `${label}_${randomBytes(4).toString('hex')}`;
}
