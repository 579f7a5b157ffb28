/** The validate options schema (defaults, per-kind rules) and the indexes the checks declare. */
import { describe, expect, it } from 'vitest';
import { validateOptions } from '../../../jobs/validate/options.ts';
import { declaredIndexes, indexName } from '../../../jobs/validate/indexes.ts';

describe('validate options', () => {
  it('fills defaults: error severity (info for outliers), sample limit 10, scorecard on', () => {
    const o = validateOptions.parse({
      checks: [
        { name: 'a', kind: 'not_null', table: 't', columns: ['id'] },
        { name: 'b', kind: 'outlier', table: 't', column: 'amount' },
      ],
    });
    expect(o).toMatchObject({ sampleLimit: 10, scorecard: true, ensureIndexes: false, indexes: [] });
    expect(o.checks[0]).toMatchObject({ severity: 'error', thresholds: {} });
    expect(o.checks[1]).toMatchObject({ severity: 'info', percentile: 0.99 });
  });

  it('rejects impossible checks with a path to the problem', () => {
    const bad = (check: Record<string, unknown>) => {
      const r = validateOptions.safeParse({ checks: [check] });
      return r.success ? 'ok' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(bad({ name: 'r', kind: 'range', table: 't', column: 'x' })).toMatch(/give min, max or both/);
    expect(bad({ name: 'f', kind: 'relationship', table: 't', columns: ['a', 'b'], to: { table: 'p', columns: ['a'] } })).toMatch(/same length/);
    expect(bad({ name: 'x', kind: 'freshness', table: 't', column: 'at', maxAge: 'soon' })).toMatch(/maxAge/);
    expect(bad({ name: 'x', kind: 'nope', table: 't' })).toMatch(/kind/);
    expect(bad({ name: 'x', kind: 'not_null', table: 't', columns: ['id'], thresholds: { error: { ratio: 2 } } })).toMatch(/thresholds\.error\.ratio/);
    expect(bad({ name: 'x y', kind: 'not_null', table: 't', columns: ['id'] })).toMatch(/^checks\.0\.name/);
    expect(bad({ name: 'j', kind: 'expression', table: 't', expression: 'a', joins: [{ alias: 's', on: 'true' }] })).toMatch(/exactly one of table or query/);
  });
});

describe('declared indexes', () => {
  it('relationships declare the referenced key and the foreign key; unique checks their columns; no duplicates', () => {
    const o = validateOptions.parse({
      checks: [
        { name: 'fk1', kind: 'relationship', table: 'leads', columns: ['seller_id'], to: { table: 'sellers', columns: ['seller_id'] } },
        { name: 'fk2', kind: 'relationship', table: 'credits', columns: ['seller_id'], to: { table: 'sellers', columns: ['seller_id'] } },
        { name: 'u', kind: 'unique', table: 'leads', columns: ['lead_id'] },
        { name: 'nn', kind: 'not_null', table: 'leads', columns: ['lead_id'] },
      ],
      indexes: [{ table: 'leads', columns: ['created_at'] }],
    });
    expect(declaredIndexes(o)).toEqual([
      { table: 'leads', columns: ['created_at'] },
      { table: 'sellers', columns: ['seller_id'] },
      { table: 'leads', columns: ['seller_id'] },
      { table: 'credits', columns: ['seller_id'] },
      { table: 'leads', columns: ['lead_id'] },
    ]);
  });

  it('index names are valid identifiers, distinct, at most 63 characters', () => {
    const long = { table: 'a_very_long_table_name_for_testing_limits', columns: ['first_long_column_name', 'second_long_column_name'] };
    const name = indexName(long);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(indexName({ ...long, columns: ['first_long_column_name', 'second_long_column_namx'] })).not.toBe(name);
  });
});
