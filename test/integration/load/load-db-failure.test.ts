import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTarget, ensureAuditTable } from '../../../jobs/load/audit.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { count, countIfExists, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('dbfail');
  // The injected failure: a trigger raises on a marker value, so COPY fails mid-stream with an error
  // that is not about one value (P0001): the whole file must fail.
  await database.pool.query(`CREATE TABLE public.guarded (customer_number integer PRIMARY KEY, customer_rating integer NOT NULL,
    customer_rating_limit integer NOT NULL, customer_status text NOT NULL)`);
  await database.pool.query(`CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.customer_status = 'boom' THEN RAISE EXCEPTION 'guard tripped'; END IF; RETURN NEW; END $$`);
  await database.pool.query('CREATE TRIGGER guarded_guard BEFORE INSERT ON guarded FOR EACH ROW EXECUTE FUNCTION guard()');
  // The user's own constraint: Postgres refuses values the declared columns accept.
  await database.pool.query(`CREATE TABLE public.checked (customer_number integer PRIMARY KEY, customer_rating integer NOT NULL,
    customer_rating_limit integer NOT NULL, customer_status text NOT NULL CHECK (customer_status <> 'boom'),
    CHECK (customer_rating <= customer_rating_limit))`);
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

/** 150,000 rows (several read chunks), a bad row every 1,000, and optionally the marker near the end. */
function bigFile(marker: boolean, markers: number[] = [140_001]): string {
  const rows: string[] = [];
  for (let i = 1; i <= 150_000; i++) {
    if (i % 1000 === 0) rows.push(`${i},bad,1,x`);
    else rows.push(`${i},${i % 50},100,${marker && markers.includes(i) ? 'boom' : 'status-' + (i % 7)}`);
  }
  return `${RATING_HEADER}\n${rows.join('\n')}\n`;
}

describe('load: a database failure mid-file', () => {
  it('rolls back rows, audit rows and the ledger entry; the retry then loads cleanly', async () => {
    const file = await writeFile(dir, 'ratings.csv', bigFile(true));
    expect((await fs.stat(file)).size).toBeGreaterThan(3 << 20);
    const options = { source: { file }, target: 'guarded', columns: RATING_COLUMNS, auditBatchRows: 20 };
    const err = await runLoad(database, options).then(() => null, (e: unknown) => e as { code?: string; constraint?: string });
    expect(err?.code).toBe('P0001'); // raised by the trigger, from the server, mid-COPY
    expect((err as Error).message).toBe('guard tripped');
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

  it('refuses, per row, values Postgres refuses that the columns accept (the table\'s own CHECKs); loads the rest', async () => {
    const file = await writeFile(dir, 'checked.csv', bigFile(true, [3, 70_001, 149_999]));
    const result = await runLoad(database, { source: { file }, target: 'checked', columns: RATING_COLUMNS, auditBatchRows: 20 });
    // 150 rows fail the validator (`bad`), 3 the CHECK: their file lines are row number + 1 (the header).
    expect(result).toMatchObject({ rows_read: 150_000, rows_loaded: 149_847, rows_rejected: 153 });
    expect(await count(database, 'checked')).toBe(149_847);
    const refused = await query<{ line: number; reason: string }>(database,
      `SELECT line, reason FROM audit.checked_rejects WHERE errors->0->>'rule' = 'postgres' ORDER BY line`);
    expect(refused.map((r) => r.line)).toEqual([4, 70_002, 150_000]);
    expect(result.files[0].postgres_refused).toEqual([4, 70_002, 150_000]);
    expect(result.warnings).toEqual([expect.stringMatching(/checked\.csv: Postgres refused 3 row\(s\) the declared columns accept \(lines 4, 70002, 150000; rule 'postgres'/)]);
    expect(refused[0].reason).toMatch(/^Postgres refused it: new row for relation "checked" violates check constraint "checked_customer_status_check" \(23514\)$/);
    const inTable = await query<{ n: number }>(database, `SELECT count(*)::int AS n FROM checked WHERE customer_status = 'boom' OR customer_number IN (3, 70001, 149999)`);
    expect(inTable[0].n).toBe(0);
  });

  it('fails the file, loading nothing, when Postgres refuses more than 50 rows the columns accept', async () => {
    const markers = Array.from({ length: 51 }, (_, i) => 10 + i * 7);
    await database.pool.query('TRUNCATE checked');
    const file = await writeFile(dir, 'many.csv', `${RATING_HEADER}\n${markers.map((n) => `${n},5,1,ok`).join('\n')}\n1,1,1,ok\n`);
    const err = await runLoad(database, { source: { file }, target: 'checked', columns: RATING_COLUMNS }).then(() => null, (e: unknown) => e as { code?: string; message: string });
    expect(err?.code).toBe('FILE_UNREADABLE');
    expect(err?.message).toMatch(/Postgres refused line 52\b.*after 50 values the validator accepted were refused; nothing loaded/);
    expect(await count(database, 'checked')).toBe(0);
  });

  it('fails the file with the audit table\'s own error when Postgres refuses a refused row there (never taken for a row of the file)', async () => {
    // The audit rows go by COPY: a refusal there names a COPY line too, but none of the file's.
    const client = await database.pool.connect();
    await ensureAuditTable(client, auditTarget('public.closed')).finally(() => client.release());
    await database.pool.query('ALTER TABLE audit.closed_rejects ADD CONSTRAINT audit_closed CHECK (line < 0)');
    const file = await writeFile(dir, 'closed.csv', `${RATING_HEADER}\n1,1,5,ok\n2,bad,5,ok\n3,1,5,ok\n`);
    const err = await runLoad(database, { source: { file }, target: 'closed', columns: RATING_COLUMNS }).then(() => null, (e: unknown) => e as { code?: string; constraint?: string; message: string });
    expect(err).toMatchObject({ code: '23514', constraint: 'audit_closed' });
    expect(err?.message).toMatch(/closed_rejects.*audit_closed/);
    expect(await countIfExists(database, 'public.closed')).toBe(0);
    expect(await query(database, "SELECT * FROM load_ledger WHERE target = 'closed'")).toEqual([]);
  });
});
