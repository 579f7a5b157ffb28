/**
 * What the connection tests share: a second database on the test server as the warehouse, owned
 * and reached by a role of its own with a password of its own (the secret the tests look for), one
 * W1 agency file from the generator with its truth, and the task that loads it into the warehouse.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DagSpec } from '../../../engine/types.ts';
import { generateCustomerRatings } from '../../../samples/w1-customer-ratings.ts';
import pg from 'pg';
import { createTestDatabase, serverUrl, type TestDatabase } from '../../support/db.ts';

export interface Warehouse {
  /** The database, as the server's superuser reaches it. */
  database: TestDatabase;
  /** The warehouse's URL: its own role, with `secret` as the password. */
  url: string;
  secret: string;
  /** Drops the database and the role. */
  drop(): Promise<void>;
}

export async function createWarehouse(): Promise<Warehouse> {
  const database = await createTestDatabase({ migrate: false });
  const secret = `Wh-${randomBytes(9).toString('hex')}`;
  const role = `wh_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  // The owner of the database may create schemas in it and tables in its public schema.
  await admin(`CREATE ROLE ${role} LOGIN PASSWORD '${secret}'`);
  await admin(`ALTER DATABASE ${database.name} OWNER TO ${role}`);
  const url = new URL(database.url);
  url.username = role;
  url.password = secret;
  return {
    database, url: url.href, secret,
    async drop() {
      await database.drop();
      await admin(`DROP ROLE IF EXISTS ${role}`);
    },
  };
}

/** A temp folder readable by the server's user (as root the embedded Postgres runs as `postgres`). */
export async function tempFolder(label: string): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), `${label}-`)));
  await fs.chmod(dir, 0o755);
  return dir;
}

export interface DayFile {
  dir: string;
  /** Rows the generator wrote as valid / refused, and the sum of the valid rows' rating. */
  valid: number;
  rejected: number;
  ratingSum: number;
}

/** One W1 agency file for 2025-05-13 (`acme_20250513.csv`) in `dir`. */
export async function dayFile(dir: string, size = 400): Promise<DayFile> {
  const truth = await generateCustomerRatings({ dir, seed: 21, size, agencies: ['acme'] });
  const [file] = truth.files;
  return { dir, valid: file.valid, rejected: file.rejected, ratingSum: truth.reports['20250513'].rows[0].sum_customer_rating };
}

export const RATING_COLUMNS = [
  { name: 'customer_number', type: 'integer', min: 1 },
  { name: 'customer_rating', type: 'integer', min: 0 },
  { name: 'customer_rating_limit', type: 'integer', min: 0 },
  { name: 'customer_status', type: 'text', minLength: 1, maxLength: 25 },
] as const;

/** The day's file loaded into `customer_ratings` on connection `warehouse`. */
export function loadTask(dir: string) {
  return {
    kind: 'load',
    options: {
      connection: 'warehouse', source: { file: path.join(dir, 'acme_{yyyymmdd}.csv') }, target: 'customer_ratings', mode: 'append',
      columns: RATING_COLUMNS.map((c) => ({ ...c })),
    },
  };
}

/** A DAG file's text for `spec` (plain data: the same DAG a test compiles in its own process). */
export function dagFileText(spec: DagSpec): string {
  return `export default ${JSON.stringify(spec, null, 2)};\n`;
}
