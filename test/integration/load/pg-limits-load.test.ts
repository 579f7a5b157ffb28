/**
 * Values past PostgreSQL's limits cost their own rows, never the file: a 10,000-row file with a
 * `+16:00` offset on data row 3 and a 140,000-digit numeric on data row 7,000 loads 9,998 rows through
 * the real load handler and audits those two with their lines and rules. The loaded values, the
 * limits themselves among them (±15:59, 131,072 digits), are summed by our own SQL against the file.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { expectAccounting, query, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('pg-limits');
});
afterAll(async () => {
  await database?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const ROWS = 10_000;
const OFFSETS = ['+15:59', '-15:59', 'Z', '+05:30', '', '-0800'];
const BAD = new Map([
  [3, { at: '2024-05-13 06:00:00+16:00', amount: '1.5' }],
  [7000, { at: '2024-05-13 06:00:00Z', amount: '9'.repeat(140_000) }],
]);

/** Data row i (1-based, on line i + 1): its timestamp and amount. Row 5,000 holds numeric's largest integer part. */
function row(i: number): { at: string; amount: string } {
  const bad = BAD.get(i);
  if (bad) return bad;
  const minute = String(i % 60).padStart(2, '0');
  return { at: `2024-05-13T06:${minute}:00${OFFSETS[i % OFFSETS.length]}`, amount: i === 5000 ? '9'.repeat(131_072) : `${i}.${i % 100}` };
}

/** The test's own reading of a timestamp: epoch seconds, zoneless read as UTC. */
function epoch(at: string): number {
  const iso = /(Z|[+-]\d{2}:?\d{2})$/.test(at) ? at.replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : `${at}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`test reader cannot read ${at}`);
  return ms / 1000;
}

describe('load: values past PostgreSQL limits are refused per row', () => {
  it('10,000 rows, a +16:00 offset at row 3 and a 140,000-digit numeric at row 7,000: 2 refused with their lines, 9,998 loaded', async () => {
    const lines = ['id,at,amount'];
    for (let i = 1; i <= ROWS; i++) lines.push(`${i},${row(i).at},${row(i).amount}`);
    const file = await writeFile(dir, 'limits.csv', `${lines.join('\n')}\n`);

    const result = await runLoad(database, {
      source: { file },
      target: 'limits',
      columns: [{ name: 'id', type: 'integer' }, { name: 'at', type: 'timestamptz' }, { name: 'amount', type: 'numeric' }],
    });
    expect(result).toMatchObject({ rows_read: ROWS, rows_loaded: ROWS - 2, rows_rejected: 2 });
    expect(expectAccounting(result)).toBe(true);

    const audit = await query<{ line: number; errors: Array<{ column: string; rule: string; message: string }> }>(
      database, 'SELECT line::int, errors FROM audit.limits_rejects ORDER BY line',
    );
    expect(audit.map((a) => [a.line, a.errors.map((e) => `${e.column}:${e.rule}`)])).toEqual([
      [4, ['at:range']],
      [7001, ['amount:precision']],
    ]);
    expect(audit[0].errors[0].message).toContain('UTC offset out of range (+16:00');
    expect(audit[1].errors[0].message).toContain('more than 131072 integer digits');

    const good = Array.from({ length: ROWS }, (_, k) => k + 1).filter((i) => !BAD.has(i));
    const [stored] = await query<{ n: number; ids: string; epochs: string; amounts: string }>(database, `
      SELECT count(*)::int AS n, sum(id)::text AS ids, sum(extract(epoch FROM at))::text AS epochs,
             sum(amount) FILTER (WHERE id <> 5000)::text AS amounts FROM limits`);
    expect(stored.n).toBe(ROWS - 2);
    expect(stored.ids).toBe(String(good.reduce((s, i) => s + i, 0)));
    expect(Number(stored.epochs)).toBe(good.reduce((s, i) => s + epoch(row(i).at), 0));
    // Every amount has at most two decimals: compare in hundredths, exactly.
    const cents = (v: string) => {
      const [int, frac = ''] = v.split('.');
      return BigInt(int + frac.padEnd(2, '0'));
    };
    expect(cents(stored.amounts)).toBe(good.filter((i) => i !== 5000).reduce((s, i) => s + cents(row(i).amount), 0n));
    // Row 5,000 alone: numeric's largest integer part (a sum with it would overflow numeric itself).
    const [largest] = await query<{ amount: string }>(database, 'SELECT amount::text FROM limits WHERE id = 5000');
    expect(largest.amount).toBe(row(5000).amount);
    const [missing] = await query<{ ids: number[] }>(database, `
      SELECT array_agg(g ORDER BY g) AS ids FROM generate_series(1, ${ROWS}) g WHERE NOT EXISTS (SELECT 1 FROM limits WHERE id = g)`);
    expect(missing.ids).toEqual([...BAD.keys()]);
  });
});
