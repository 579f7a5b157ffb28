/**
 * First loads racing to create what does not exist yet: 8 parallel loads (real handler, each in
 * its own transaction) into a fresh target schema and a fresh audit schema, 20 rounds → no
 * failure, every row there; two parallel creates of the same new public table → both commit.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadOptionsInput } from '../../../jobs/load/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir, writeFile } from './helpers.ts';

const ROUNDS = 20;
const LOADS = 8;
const TABLES = 4; // two loads per table: schema and table creation race at once
const ROWS = 10;

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase({ max: LOADS + 2 });
  dir = await tempDir('schema-race');
});
afterAll(async () => {
  await database?.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Load `i`'s file: ROWS rows with customer numbers of its own (so no two files share a hash). */
async function fileOf(name: string, i: number): Promise<string> {
  const rows = Array.from({ length: ROWS }, (_, r) => `${i * ROWS + r + 1},1,1,ok`);
  return writeFile(dir, name, `${RATING_HEADER}\n${rows.join('\n')}\n`);
}

/** Runs every load at once; returns the reasons of the ones that failed. */
async function raceLoads(loads: LoadOptionsInput[]): Promise<string[]> {
  const settled = await Promise.allSettled(loads.map((o, i) => runLoad(database, o, { taskId: `load_${i}` })));
  return settled.flatMap((s) => (s.status === 'rejected' ? [String((s.reason as Error).message)] : []));
}

describe('creating schemas and tables under parallel first loads', () => {
  it(`${LOADS} parallel loads into a new schema (and a new audit schema) × ${ROUNDS} rounds: 0 failures`, async () => {
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const loads: LoadOptionsInput[] = [];
      for (let i = 0; i < LOADS; i++) {
        const table = `t${i % TABLES}`;
        loads.push({
          source: { file: await fileOf(`r${round}_${i}.csv`, i) },
          target: `race_${round}.${table}`,
          audit: `race_audit_${round}.${table}_rejects`,
          columns: RATING_COLUMNS,
        });
      }
      failures.push(...(await raceLoads(loads)));
    }
    expect(failures).toEqual([]);
    // Counted independently: every round's tables hold both of their loads' rows.
    const counts = await query<{ schema: string; n: number }>(
      database,
      `SELECT s.nspname AS schema, count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
       WHERE c.relkind = 'r' AND s.nspname LIKE 'race\\_%' GROUP BY 1 ORDER BY 1`,
    );
    expect(counts).toHaveLength(2 * ROUNDS);
    expect(counts.every((c) => c.n === TABLES)).toBe(true);
    for (let round = 0; round < ROUNDS; round++) {
      const [row] = await query<{ n: number }>(database, `SELECT (SELECT count(*) FROM race_${round}.t0) + (SELECT count(*) FROM race_${round}.t1)
        + (SELECT count(*) FROM race_${round}.t2) + (SELECT count(*) FROM race_${round}.t3) AS n`);
      expect(Number(row.n)).toBe(LOADS * ROWS);
    }
  });

  it('two parallel creates of the same new table (existing schema) both commit, × 10', async () => {
    const failures: string[] = [];
    for (let round = 0; round < 10; round++) {
      const loads = await Promise.all([0, 1].map(async (i) => ({
        source: { file: await fileOf(`twin${round}_${i}.csv`, i) }, target: `twin_${round}`, columns: RATING_COLUMNS,
      })));
      failures.push(...(await raceLoads(loads)));
      const [row] = await query<{ n: number }>(database, `SELECT count(*)::int AS n FROM twin_${round}`);
      expect(row.n).toBe(2 * ROWS);
    }
    expect(failures).toEqual([]);
  });
});
