import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { count, countIfExists, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('dbfail');
  // The injected failure: the target refuses a marker value, so COPY fails mid-stream.
  await database.pool.query(`CREATE TABLE guarded (customer_number integer PRIMARY KEY, customer_rating integer NOT NULL,
    customer_rating_limit integer NOT NULL, customer_status text NOT NULL CHECK (customer_status <> 'boom'))`);
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

/** 150,000 rows (several read chunks), a bad row every 1,000, and optionally the marker near the end. */
function bigFile(marker: boolean): string {
  const rows: string[] = [];
  for (let i = 1; i <= 150_000; i++) {
    if (i % 1000 === 0) rows.push(`${i},bad,1,x`);
    else rows.push(`${i},${i % 50},100,${marker && i === 140_001 ? 'boom' : 'status-' + (i % 7)}`);
  }
  return `${RATING_HEADER}\n${rows.join('\n')}\n`;
}

describe('load: a database failure mid-file', () => {
  it('rolls back rows, audit rows and the ledger entry; the retry then loads cleanly', async () => {
    const file = await writeFile(dir, 'ratings.csv', bigFile(true));
    expect((await fs.stat(file)).size).toBeGreaterThan(3 << 20);
    const options = { source: { file }, target: 'guarded', columns: RATING_COLUMNS, auditBatchRows: 20 };
    const err = await runLoad(database, options).then(() => null, (e: unknown) => e as { code?: string; constraint?: string });
    expect(err?.code).toBe('23514'); // check_violation, from the server, mid-COPY
    expect(err?.constraint).toBe('guarded_customer_status_check');
    expect(await count(database, 'guarded')).toBe(0);
    expect(await countIfExists(database, 'audit.guarded_rejects')).toBe(0);
    expect(await query(database, 'SELECT * FROM load_ledger')).toEqual([]);

    // The next try (the file fixed) runs on the same pool and loads everything.
    await writeFile(dir, 'ratings.csv', bigFile(false));
    const result = await runLoad(database, options);
    expect(result).toMatchObject({ rows_read: 150_000, rows_loaded: 149_850, rows_rejected: 150 });
    expect(await count(database, 'guarded')).toBe(149_850);
    expect(await count(database, 'audit.guarded_rejects')).toBe(150);
    expect(await count(database, 'load_ledger')).toBe(1);
  });
});
