/**
 * Every check kind against planted defects of known count: exact failing counts, limited samples
 * with the right keys, severity and threshold semantics, results stored even when the task fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask, type TestTaskOverrides } from '../../support/task-context.ts';
import { validateKind } from '../../../jobs/validate/index.ts';
import { TributaryError } from '../../../engine/errors.ts';

let database: TestDatabase;
let nextRun = 1;

// sellers 1..100: market 'XX' when id % 20 = 0 (5); names duplicated for 10,11 ('dup') and 20,21,22 ('trio').
// leads 1..1000: seller (id % 100) + 1, orphans (seller 5000) when id % 97 = 0 (10); created before signup when
// id % 50 = 0 (20); status NULL when id % 40 = 0 (25), 'Bogus' when id % 33 = 0 (30); tracking NULL when id % 60 = 0
// (16; 8 of them also have NULL status); amount (id % 100) * 10, -5 when id % 125 = 0 (8), 5000 when id % 111 = 0 (9).
const FIXTURE = `
  CREATE TABLE public.sellers (seller_id int PRIMARY KEY, seller_name text, market text, signup_date date, credit_limit numeric);
  INSERT INTO sellers SELECT g,
    CASE WHEN g IN (10, 11) THEN 'dup' WHEN g IN (20, 21, 22) THEN 'trio' ELSE 'S' || g END,
    CASE WHEN g % 20 = 0 THEN 'XX' WHEN g % 2 = 0 THEN 'GCC' ELSE 'AFRQ' END,
    date '2024-01-01' + g, 1000
  FROM generate_series(1, 100) g;
  CREATE TABLE public.leads (lead_id int PRIMARY KEY, seller_id int, created_at timestamp, amount numeric, status text, tracking text);
  INSERT INTO leads SELECT g,
    CASE WHEN g % 97 = 0 THEN 5000 ELSE (g % 100) + 1 END,
    CASE WHEN g % 50 = 0 THEN timestamp '2023-06-01' ELSE timestamp '2025-01-01' + g * interval '1 minute' END,
    CASE WHEN g % 125 = 0 THEN -5 WHEN g % 111 = 0 THEN 5000 ELSE (g % 100) * 10 END,
    CASE WHEN g % 40 = 0 THEN NULL WHEN g % 33 = 0 THEN 'Bogus' ELSE (ARRAY['New','Contacted','Confirmed','Cancelled'])[g % 4 + 1] END,
    CASE WHEN g % 60 = 0 THEN NULL ELSE 'T' || g END
  FROM generate_series(1, 1000) g;
  CREATE TABLE public.pair_parents (a int, b int, PRIMARY KEY (a, b));
  INSERT INTO pair_parents VALUES (1, 1), (2, 1), (1, 2);
  CREATE TABLE public.pairs (id int PRIMARY KEY, a int, b int);
  INSERT INTO pairs VALUES (1, 1, 1), (2, 1, 1), (3, 1, 2), (4, 2, 1), (5, 2, 1), (6, 2, 1), (7, NULL, 1), (8, NULL, 1), (9, 3, 3), (10, 4, 4);
  CREATE TABLE public.credits (credit_id int PRIMARY KEY, amount numeric);
  INSERT INTO credits SELECT g, g FROM generate_series(1, 100) g;`;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(FIXTURE);
});
afterAll(async () => database.drop());

interface Ran {
  runId: number;
  result?: Record<string, unknown>;
  error?: TributaryError;
  rows: Array<Record<string, unknown>>;
}

/** Runs the validate handler as the engine would; collects the stored check_results of the run. */
async function validate(raw: Record<string, unknown>, overrides: TestTaskOverrides = {}): Promise<Ran> {
  const options = validateKind.options.parse(raw);
  const runId = nextRun++;
  const ran: Ran = { runId, rows: [] };
  try {
    ran.result = (await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: String(runId), ...overrides })) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TributaryError)) throw err;
    ran.error = err;
  }
  const { rows } = await database.pool.query('SELECT * FROM check_results WHERE run_id = $1 ORDER BY id', [runId]);
  ran.rows = rows;
  return ran;
}

async function one(check: Record<string, unknown>, overrides: TestTaskOverrides = {}) {
  const ran = await validate({ checks: [check], scorecard: false }, overrides);
  expect(ran.rows).toHaveLength(1);
  return { ...ran, row: ran.rows[0] };
}

describe('check kinds: exact failing counts, samples and keys', () => {
  it('not_null counts nulls, samples 5 keys in key order', async () => {
    const { row } = await one({ name: 'nn', kind: 'not_null', table: 'leads', columns: ['status'], severity: 'warn', sampleLimit: 5 });
    expect(row).toMatchObject({ rows_evaluated: 1000, rows_failing: 25, outcome: 'warn', check_kind: 'not_null', table_name: 'leads' });
    expect(row.sample_keys).toEqual([40, 80, 120, 160, 200].map((id) => ({ lead_id: id })));
    expect((row.sample_rows as Array<Record<string, unknown>>)[0]).toMatchObject({ lead_id: 40, status: null, tracking: 'T40' });
  });

  it('not_null over several columns fails a row once when any is null', async () => {
    const { row } = await one({ name: 'nn2', kind: 'not_null', table: 'leads', columns: ['status', 'tracking'], severity: 'warn' });
    expect(row.rows_failing).toBe(25 + 16 - 8);
  });

  it('unique on one column fails every row of a duplicated value', async () => {
    const { row } = await one({ name: 'u1', kind: 'unique', table: 'sellers', columns: ['seller_name'], severity: 'warn' });
    expect(row.rows_failing).toBe(5);
    expect(row.sample_keys).toEqual([10, 11, 20, 21, 22].map((id) => ({ seller_id: id })));
  });

  it('unique on several columns ignores rows with a NULL part', async () => {
    const { row } = await one({ name: 'u2', kind: 'unique', table: 'pairs', columns: ['a', 'b'], severity: 'warn', key: ['id'] });
    expect(row.rows_failing).toBe(5);
    expect(row.sample_keys).toEqual([1, 2, 4, 5, 6].map((id) => ({ id })));
  });

  it('relationship finds orphans; rows with NULL foreign keys are not orphans', async () => {
    const { row } = await one({
      name: 'fk', kind: 'relationship', table: 'leads', columns: ['seller_id'],
      to: { table: 'sellers', columns: ['seller_id'] }, severity: 'warn', sampleLimit: 3,
    });
    expect(row.rows_failing).toBe(10);
    expect(row.sample_keys).toEqual([97, 194, 291].map((id) => ({ lead_id: id })));
    const composite = await one({
      name: 'fk2', kind: 'relationship', table: 'pairs', columns: ['a', 'b'], to: { table: 'pair_parents', columns: ['a', 'b'] }, severity: 'warn',
    });
    expect(composite.row.rows_failing).toBe(2);
    expect(composite.row.sample_keys).toEqual([{ id: 9 }, { id: 10 }]);
  });

  it('accepted_values fails unknown values, not NULLs', async () => {
    const { row } = await one({
      name: 'av', kind: 'accepted_values', table: 'leads', column: 'status', values: ['New', 'Contacted', 'Confirmed', 'Cancelled'], severity: 'warn',
    });
    expect(row.rows_failing).toBe(30);
    expect((row.sample_rows as Array<Record<string, unknown>>).every((r) => r.status === 'Bogus')).toBe(true);
  });

  it('range honours inclusive and exclusive bounds', async () => {
    const inclusive = await one({ name: 'r1', kind: 'range', table: 'leads', column: 'amount', min: 0, max: 1000, severity: 'warn' });
    expect(inclusive.row.rows_failing).toBe(8 + 9);
    const exclusive = await one({ name: 'r2', kind: 'range', table: 'leads', column: 'amount', min: 0, max: 1000, inclusive: false, severity: 'warn' });
    expect(exclusive.row.rows_failing).toBe(8 + 9 + 8); // plus the eight rows of amount exactly 0
  });

  it('expression through a declared join (leads before their seller signed up)', async () => {
    const { row } = await one({
      name: 'after_signup', kind: 'expression', table: 'leads', alias: 'lead', severity: 'warn', sampleLimit: 2,
      joins: [{ table: 'sellers', alias: 'seller', on: 'seller.seller_id = lead.seller_id' }],
      expression: 'lead.created_at >= seller.signup_date',
    });
    expect(row.rows_failing).toBe(20);
    expect(row.sample_keys).toEqual([{ lead_id: 50 }, { lead_id: 100 }]);
    const plain = await one({ name: 'non_negative', kind: 'expression', table: 'leads', expression: 'amount >= 0', severity: 'warn' });
    expect(plain.row.rows_failing).toBe(8);
  });

  it('expression joined to an aggregate query (sellers over their credit limit)', async () => {
    const { row } = await one({
      name: 'within_limit', kind: 'expression', table: 'sellers', alias: 's', severity: 'warn',
      joins: [{ query: 'SELECT seller_id, sum(amount) AS total FROM leads WHERE amount > 0 GROUP BY seller_id', alias: 'l', on: 'l.seller_id = s.seller_id' }],
      expression: 'l.total <= s.credit_limit',
    });
    const { rows } = await database.pool.query(
      `SELECT count(*)::int AS n FROM (SELECT seller_id FROM leads WHERE amount > 0 GROUP BY seller_id HAVING sum(amount) > 1000) x WHERE seller_id <= 100`,
    );
    expect(row.rows_failing).toBe(rows[0].n);
    expect(row.rows_failing).toBeGreaterThan(0);
  });

  it('row_count: failing rows = how far the count is from min/max or the other table', async () => {
    const below = await one({ name: 'rc1', kind: 'row_count', table: 'leads', min: 1200, severity: 'warn' });
    expect(below.row).toMatchObject({ rows_evaluated: 1000, rows_failing: 200, outcome: 'warn' });
    expect(below.row.sample_rows).toEqual([{ actual: 1000, min: 1200 }]);
    const equal = await one({ name: 'rc2', kind: 'row_count', table: 'sellers', equalTo: { table: 'credits' }, severity: 'warn' });
    expect(equal.row).toMatchObject({ rows_evaluated: 100, rows_failing: 0, outcome: 'pass' });
    const filtered = await one({ name: 'rc3', kind: 'row_count', table: 'leads', where: "status = 'Bogus'", max: 25, severity: 'warn' });
    expect(filtered.row).toMatchObject({ rows_evaluated: 30, rows_failing: 5 });
  });

  it('freshness: the newest value against the logical date', async () => {
    const check = { name: 'fresh', kind: 'freshness', table: 'leads', column: 'created_at', maxAge: '1 day', severity: 'warn' };
    const fresh = await one(check, { logicalDate: new Date('2025-01-02T00:00:00Z') });
    expect(fresh.row).toMatchObject({ rows_failing: 0, outcome: 'pass' });
    const stale = await one(check, { logicalDate: new Date('2025-01-03T00:00:00Z') });
    expect(stale.row).toMatchObject({ rows_failing: 1, outcome: 'warn' });
    expect((stale.row.sample_rows as Array<Record<string, unknown>>)[0]).toMatchObject({ max_age_seconds: 86_400 });
  });

  it('outlier is info by default: counted, sampled, never failing', async () => {
    const ran = await one({ name: 'out', kind: 'outlier', table: 'credits', column: 'amount', percentile: 0.9 });
    expect(ran.error).toBeUndefined();
    expect(ran.row).toMatchObject({ severity: 'info', rows_failing: 10, outcome: 'pass' });
    expect((ran.row.sample_keys as unknown[])[0]).toEqual({ credit_id: 91 });
    const p99 = await one({ name: 'out99', kind: 'outlier', table: 'credits', column: 'amount' });
    expect(p99.row.rows_failing).toBe(1);
  });

  it('custom_sql: the query rows fail; params are bound values', async () => {
    const { row } = await one(
      { name: 'big', kind: 'custom_sql', table: 'leads', query: 'SELECT lead_id, amount FROM leads WHERE amount > :param_limit', key: ['lead_id'], sampleLimit: 3, severity: 'warn' },
      { params: { limit: 4000 } },
    );
    expect(row.rows_failing).toBe(9);
    expect(row.sample_keys).toEqual([111, 222, 333].map((id) => ({ lead_id: id })));
  });
});

describe('severity and thresholds', () => {
  const av = { name: 'status_values', kind: 'accepted_values', table: 'leads', column: 'status', values: ['New', 'Contacted', 'Confirmed', 'Cancelled'] };

  it('an error check that breaches throws CHECK_FAILED, and its results are stored (keepWrites)', async () => {
    const ran = await validate({ checks: [av, { name: 'nn_warn', kind: 'not_null', table: 'leads', columns: ['status'], severity: 'warn' }] });
    expect(ran.error?.code).toBe('CHECK_FAILED');
    expect(ran.error?.details?.keepWrites).toBe(true);
    expect(ran.error?.message).toBe('task "test_task": 1 error check(s) failed: status_values on leads (30 of 1000 rows failing)');
    expect(ran.rows.map((r) => [r.check_name, r.outcome])).toEqual([['status_values', 'fail'], ['nn_warn', 'warn']]);
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM quality_scorecards WHERE run_id = $1', [ran.runId]);
    expect(rows[0].n).toBe(1);
  });

  it('warnings do not fail the task; the result counts outcomes', async () => {
    const ran = await validate({ checks: [{ ...av, severity: 'warn' }, { name: 'ids', kind: 'not_null', table: 'leads', columns: ['lead_id'] }] });
    expect(ran.error).toBeUndefined();
    expect(ran.result?.outcomes).toEqual({ pass: 1, warn: 1, fail: 0 });
    expect(ran.result?.warned).toEqual(['status_values']);
  });

  it('count thresholds: 30 failing passes error at count 30, fails at 29', async () => {
    const at30 = await one({ ...av, thresholds: { error: { count: 30 } } });
    expect(at30.error).toBeUndefined();
    expect(at30.row.outcome).toBe('warn'); // past the default warn limit (any failing row)
    const at29 = await one({ ...av, thresholds: { error: { count: 29 } } });
    expect(at29.error?.code).toBe('CHECK_FAILED');
    expect(at29.row.outcome).toBe('fail');
    const quiet = await one({ ...av, thresholds: { error: { count: 30 }, warn: { count: 30 } } });
    expect(quiet.row.outcome).toBe('pass');
  });

  it('ratio thresholds: 30 of 1000 is 0.03', async () => {
    expect((await one({ ...av, thresholds: { error: { ratio: 0.03 } } })).row.outcome).toBe('warn');
    expect((await one({ ...av, thresholds: { error: { ratio: 0.029 } } })).row.outcome).toBe('fail');
    expect((await one({ ...av, severity: 'warn', thresholds: { warn: { ratio: 0.05 } } })).row.outcome).toBe('pass');
  });

  it('where restricts the rows evaluated', async () => {
    const { row } = await one({ ...av, where: 'lead_id <= 100', severity: 'warn' });
    expect(row).toMatchObject({ rows_evaluated: 100, rows_failing: 3 }); // 33, 66, 99
  });
});
