/**
 * Real numbers through a real load: an unconstrained numeric column stores every decimal exactly
 * (sums checked with BigInt arithmetic on the file text); a declared scale with `round` stores
 * what PostgreSQL's own round() gives and audits each rounded value; without `round` a value
 * with too many decimals is refused and audited, never changed.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadOptionsInput } from '../../../jobs/load/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { expectAccounting, query, runLoad, tempDir, writeFile } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('numeric');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The money values real extracts carry, and plain ones; line i + 2 holds VALUES[i]. */
const VALUES = [
  '1345.6800000000003', '1345.6799999999998', '1130.53997', '59.480004', '-0.0', '0.0000', '-12.5', '7',
  '9.99995', '-9.99995', '-0.00004', '-0.00005', '2.00005', '2.00015', '123456789.123456789012', '0.1',
];
const csv = (values: string[]) => `id,amount\n${values.map((v, i) => `${i + 1},${v}`).join('\n')}\n`;
const options = (target: string, file: string, amount: Partial<LoadOptionsInput['columns'][number]>): LoadOptionsInput => ({
  source: { file }, target, columns: [{ name: 'id', type: 'integer' }, { name: 'amount', type: 'numeric', ...amount } as LoadOptionsInput['columns'][number]],
});

/** Exact value × 10^30 as a BigInt (the test's own parser, not the loader's). */
function units(v: string): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(v)!;
  const n = BigInt((m[2] || '0') + (m[3] ?? '').padEnd(30, '0'));
  return m[1] === '-' ? -n : n;
}

describe('numeric columns in a load', () => {
  it('unconstrained numeric: every value loads exactly as written, no coercion', async () => {
    const file = await writeFile(dir, 'exact.csv', csv(VALUES));
    const result = await runLoad(database, options('exact', file, {}));
    expect(result).toMatchObject({ rows_read: VALUES.length, rows_loaded: VALUES.length, rows_rejected: 0, files: [{ coercions: {} }] });
    const [type] = await query<{ data_type: string; numeric_precision: number | null }>(
      database, `SELECT data_type, numeric_precision FROM information_schema.columns WHERE table_name = 'exact' AND column_name = 'amount'`,
    );
    expect(type).toEqual({ data_type: 'numeric', numeric_precision: null });
    const stored = await query<{ id: number; amount: string }>(database, 'SELECT id, amount::text FROM exact ORDER BY id');
    for (const { id, amount } of stored) expect(units(amount), `line ${id + 1}`).toBe(units(VALUES[id - 1]));
    const [sum] = await query<{ s: string }>(database, 'SELECT sum(amount)::text AS s FROM exact');
    expect(units(sum.s)).toBe(VALUES.reduce((acc, v) => acc + units(v), 0n));
  });

  it("round 'half-up': stored = PostgreSQL round(value, 4); each rounded value audited with before and after", async () => {
    const file = await writeFile(dir, 'rounded.csv', csv(VALUES));
    const result = await runLoad(database, options('rounded', file, { precision: 18, scale: 4, round: 'half-up' }));
    // More than four significant decimals, counted on the text: these and only these are rounded.
    const rounded = VALUES.map((v, i) => [v, i + 2] as const).filter(([v]) => /\.\d{4}\d*[1-9]/.test(v));
    expect(rounded).toHaveLength(11);
    expect(result).toMatchObject({ rows_loaded: VALUES.length, rows_rejected: 0, files: [{ coercions: { 'amount.round': rounded.length } }] });
    expect(expectAccounting(result)).toBe(true);
    const wrong = await query(database, `SELECT r.id, r.amount::text FROM rounded r JOIN (VALUES ${VALUES.map((v, i) => `(${i + 1}, '${v}')`).join(', ')}) AS f(id, raw)
      ON f.id = r.id WHERE r.amount <> round(f.raw::numeric, 4)`);
    expect(wrong).toEqual([]);
    const audit = await query<{ line: number; value: string; coerced: string }>(
      database, `SELECT line::int, value, coerced FROM audit.rounded_coercions WHERE coercion = 'round' AND "column" = 'amount' ORDER BY line`,
    );
    expect(audit.map((a) => [a.value, a.line])).toEqual(rounded);
    const pgRound = await query<{ r: string }>(database, `SELECT round(v::numeric, 4)::text AS r FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`, [
      audit.map((a) => a.value),
    ]);
    expect(audit.map((a) => a.coerced)).toEqual(pgRound.map((p) => (p.r === '-0.0000' ? '0.0000' : p.r)));
  });

  it("round 'half-even': ties go to the even digit", async () => {
    const file = await writeFile(dir, 'even.csv', csv(['2.00005', '2.00015', '-0.00005', '9.99995']));
    await runLoad(database, options('even', file, { precision: 18, scale: 4, round: 'half-even' }));
    const stored = await query<{ amount: string }>(database, 'SELECT amount::text FROM even ORDER BY id');
    expect(stored.map((s) => s.amount)).toEqual(['2.0000', '2.0002', '0.0000', '10.0000']);
  });

  it('a declared scale without round refuses each value with too many decimals and audits why', async () => {
    const file = await writeFile(dir, 'refused.csv', csv(VALUES));
    const result = await runLoad(database, options('refused', file, { precision: 18, scale: 4 }));
    const tooMany = VALUES.filter((v) => /\.\d{4}\d*[1-9]/.test(v));
    expect(result).toMatchObject({ rows_loaded: VALUES.length - tooMany.length, rows_rejected: tooMany.length });
    expect(expectAccounting(result)).toBe(true);
    const refused = await query<{ rule: string; value: string }>(
      database, `SELECT e->>'rule' AS rule, e->>'value' AS value FROM audit.refused_rejects, jsonb_array_elements(errors) AS e ORDER BY line`,
    );
    expect(refused).toEqual(tooMany.map((value) => ({ rule: 'scale', value })));
    expect(result.files[0].coercions).toEqual({});
    const [{ coercions }] = await query<{ coercions: string | null }>(database, `SELECT to_regclass('audit.refused_coercions')::text AS coercions`);
    if (coercions !== null) expect(await query(database, `SELECT * FROM ${coercions}`)).toEqual([]);
  });
});
