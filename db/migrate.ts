/** Applies the drizzle-kit migrations in db/migrations (idempotent; safe from several processes). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Database } from './client.ts';

export const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export async function runMigrations(database: Database): Promise<void> {
  const client = await database.pool.connect();
  try {
    // Two roles starting at once must not both apply the same migration.
    await client.query('SELECT pg_advisory_lock(727274)');
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    client.release();
  }
}
