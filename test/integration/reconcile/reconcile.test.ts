/**
 * Reconciliations on planted differences: tolerance edges (0.004 vs 0.006 at 0.005), left-only and
 * right-only keys, exact counts with a sample limit of 5, last-status and expression sides,
 * severity semantics with results kept when the task fails, params as bound values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask, type TestTaskOverrides } from '../../support/task-context.ts';
import { reconcileKind } from '../../../jobs/reconcile/index.ts';
import { TributaryError } from '../../../engine/errors.ts';

let database: TestDatabase;
let nextRun = 1;

// invoices I1..I40, total = n * 10. Items of type 'total': I1..I40 except I34..I40 (7 left only), plus I41..I46
// (6 right only). Differences: I2 +0.004, I3 −0.004, I4 +0.005 (edge, within), I5 +0.006, I6 −0.006, and
// I10..I19 +1 (10 more) → 12 mismatched at tolerance 0.005.
const FIXTURE = `
  CREATE TABLE public.invoices (invoice_id text PRIMARY KEY, total numeric, fees numeric);
  INSERT INTO invoices SELECT 'I' || g, g * 10, 1.5 FROM generate_series(1, 40) g;
  CREATE TABLE public.invoice_items (invoice_id text, item_type text, amount numeric);
  INSERT INTO invoice_items SELECT 'I' || g, 'total', g * 10 + CASE
      WHEN g = 2 THEN 0.004 WHEN g = 3 THEN -0.004 WHEN g = 4 THEN 0.005 WHEN g = 5 THEN 0.006 WHEN g = 6 THEN -0.006
      WHEN g BETWEEN 10 AND 19 THEN 1 ELSE 0 END
    FROM generate_series(1, 46) g WHERE g NOT BETWEEN 34 AND 40;
  INSERT INTO invoice_items SELECT 'I' || g, 'fees', 0.75 FROM generate_series(1, 40) g;
  INSERT INTO invoice_items SELECT 'I' || g, 'fees', 0.75 FROM generate_series(1, 39) g;
  CREATE TABLE public.credits (credit_id int PRIMARY KEY, status text);
  INSERT INTO credits VALUES (1, 'Paid'), (2, 'Approved'), (3, 'New'), (4, 'Paid');
  CREATE TABLE public.credit_histories (credit_id int, status text, changed_at timestamp);
  INSERT INTO credit_histories VALUES
    (1, 'New', '2025-01-01'), (1, 'Approved', '2025-01-02'), (1, 'Paid', '2025-01-03'),
    (2, 'New', '2025-01-01'), (2, 'Paid', '2025-01-05'), (2, 'Approved', '2025-01-04'),
    (3, 'New', '2025-01-01'), (4, 'Paid', NULL), (4, 'Approved', '2025-01-02');
  CREATE TABLE public.files (path text PRIMARY KEY, rows_read int, rows_loaded int, rows_rejected int);
  INSERT INTO files VALUES ('a.csv', 10, 8, 2), ('b.csv', 5, 5, 1), ('c.csv', 7, 7, 0);`;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(FIXTURE);
});
afterAll(async () => database.drop());

const TOTALS = {
  name: 'invoice_total',
  left: { table: 'invoices', key: ['invoice_id'], value: 'total' },
  right: { table: 'invoice_items', key: ['invoice_id'], value: 'amount', agg: 'sum', where: "item_type = 'total'" },
  tolerance: { absolute: 0.005 },
};

interface Ran {
  runId: number;
  result?: { results: Array<Record<string, unknown>>; outcomes: Record<string, number> };
  error?: TributaryError;
  stored: Array<Record<string, unknown>>;
  mismatches: Array<Record<string, unknown>>;
}

async function reconcile(raw: Record<string, unknown>, overrides: TestTaskOverrides = {}): Promise<Ran> {
  const options = reconcileKind.options.parse(raw);
  const runId = nextRun++;
  const ran: Ran = { runId, stored: [], mismatches: [] };
  try {
    ran.result = (await runTask(database.pool, (ctx) => reconcileKind.handler(ctx, options), { runId: String(runId), ...overrides })) as Ran['result'];
  } catch (err) {
    if (!(err instanceof TributaryError)) throw err;
    ran.error = err;
  }
  ran.stored = (await database.pool.query('SELECT * FROM reconcile_results WHERE run_id = $1 ORDER BY id', [runId])).rows;
  ran.mismatches = (
    await database.pool.query('SELECT status, key, left_value, right_value, difference FROM reconcile_mismatches WHERE run_id = $1 ORDER BY id', [runId])
  ).rows;
  return ran;
}

describe('reconcile', () => {
  it('tolerance 0.005: differences 0.004 and exactly 0.005 match, 0.006 does not', async () => {
    const ran = await reconcile({ reconciliations: [{ ...TOTALS, severity: 'warn', sampleLimit: 20 }] });
    expect(ran.result?.results[0]).toMatchObject({ keys_total: 46, matched: 21, mismatched: 12, left_only: 7, right_only: 6, outcome: 'warn' });
    const mismatchedKeys = ran.mismatches.filter((m) => m.status === 'mismatched').map((m) => (m.key as { invoice_id: string }).invoice_id);
    expect(mismatchedKeys).toEqual(['I10', 'I11', 'I12', 'I13', 'I14', 'I15', 'I16', 'I17', 'I18', 'I19', 'I5', 'I6']);
    expect(ran.mismatches.find((m) => (m.key as { invoice_id: string }).invoice_id === 'I5')).toEqual({
      status: 'mismatched', key: { invoice_id: 'I5' }, left_value: '50', right_value: '50.006', difference: '-0.006',
    });
    expect(ran.mismatches.find((m) => (m.key as { invoice_id: string }).invoice_id === 'I6')).toMatchObject({ difference: '0.006' });
  });

  it('exact counts with a sample limit of 5: at most 5 stored per status', async () => {
    const ran = await reconcile({ reconciliations: [{ ...TOTALS, severity: 'warn', sampleLimit: 5 }] });
    expect(ran.stored[0]).toMatchObject({ keys_total: 46, matched: 21, mismatched: 12, left_only: 7, right_only: 6 });
    const byStatus = (s: string) => ran.mismatches.filter((m) => m.status === s).map((m) => (m.key as { invoice_id: string }).invoice_id);
    expect(byStatus('mismatched')).toEqual(['I10', 'I11', 'I12', 'I13', 'I14']);
    expect(byStatus('left_only')).toEqual(['I34', 'I35', 'I36', 'I37', 'I38']);
    expect(byStatus('right_only')).toEqual(['I41', 'I42', 'I43', 'I44', 'I45']);
    expect(ran.mismatches.find((m) => m.status === 'left_only')).toMatchObject({ left_value: '340', right_value: null, difference: null });
  });

  it('without tolerance every difference counts; relative tolerance scales with the value', async () => {
    const exact = await reconcile({ reconciliations: [{ ...TOTALS, tolerance: {}, severity: 'warn' }] });
    expect(exact.stored[0]).toMatchObject({ matched: 18, mismatched: 15 });
    // +1 on 100..190 is at most 1/101 of the larger value: within 1 %, like the ±0.006 on 50
    const relative = await reconcile({ reconciliations: [{ ...TOTALS, tolerance: { relative: 0.01 }, severity: 'warn' }] });
    expect(relative.stored[0]).toMatchObject({ matched: 33, mismatched: 0 });
  });

  it('absentAs: a key missing on one side compares with the fill value instead of counting as one-sided', async () => {
    const ran = await reconcile({ reconciliations: [{ ...TOTALS, absentAs: { right: 0 }, severity: 'warn', sampleLimit: 50 }] });
    expect(ran.stored[0]).toMatchObject({ keys_total: 46, matched: 21, mismatched: 19, left_only: 0, right_only: 6 });
    expect(ran.mismatches.find((m) => (m.key as { invoice_id: string }).invoice_id === 'I34')).toMatchObject({
      status: 'mismatched', left_value: '340', right_value: '0', difference: '340',
    });
  });

  it('an error reconciliation throws RECONCILE_FAILED and its results are stored', async () => {
    const ran = await reconcile({ reconciliations: [{ ...TOTALS, sampleLimit: 5 }] });
    expect(ran.error?.code).toBe('RECONCILE_FAILED');
    expect(ran.error?.details?.keepWrites).toBe(true);
    expect(ran.error?.message).toContain('invoice_total (12 mismatched, 7 left only, 6 right only of 46 keys)');
    expect(ran.stored).toHaveLength(1);
    expect(ran.stored[0].outcome).toBe('fail');
    expect(ran.mismatches).toHaveLength(15);
  });

  it('failOn and thresholds decide what fails', async () => {
    const onlyMismatched = await reconcile({
      reconciliations: [{ ...TOTALS, failOn: ['mismatched'], thresholds: { error: { count: 12 } } }],
    });
    expect(onlyMismatched.error).toBeUndefined();
    expect(onlyMismatched.stored[0].outcome).toBe('warn');
    const tighter = await reconcile({ reconciliations: [{ ...TOTALS, failOn: ['left_only', 'right_only'], thresholds: { error: { count: 12 } } }] });
    expect(tighter.stored[0].outcome).toBe('fail'); // 13 one-sided keys
  });

  it("a credit's status equals the last status of its history (agg last, exact compare)", async () => {
    const ran = await reconcile({
      reconciliations: [{
        name: 'credit_status', compare: 'exact', severity: 'warn',
        left: { table: 'credits', key: ['credit_id'], value: 'status' },
        right: { table: 'credit_histories', key: ['credit_id'], value: 'status', agg: 'last', orderBy: 'changed_at' },
      }],
    });
    expect(ran.stored[0]).toMatchObject({ keys_total: 4, matched: 2, mismatched: 2, left_only: 0, right_only: 0 });
    expect(ran.mismatches).toEqual([
      { status: 'mismatched', key: { credit_id: 2 }, left_value: 'Approved', right_value: 'Paid', difference: null },
      { status: 'mismatched', key: { credit_id: 4 }, left_value: 'Paid', right_value: 'Approved', difference: null },
    ]);
  });

  it("a file's rows equal loaded + rejected (expression side); several reconciliations in one task", async () => {
    const ran = await reconcile({
      reconciliations: [
        {
          name: 'file_rows', severity: 'warn',
          left: { table: 'files', key: ['path'], value: 'rows_read' },
          right: { table: 'files', key: ['path'], expression: 'rows_loaded + rows_rejected' },
        },
        {
          name: 'fees', severity: 'warn',
          left: { table: 'invoices', key: ['invoice_id'], value: 'fees' },
          right: { table: 'invoice_items', key: ['invoice_id'], value: 'amount', agg: 'sum', where: "item_type = 'fees'" },
        },
      ],
    });
    expect(ran.result?.outcomes).toEqual({ pass: 0, warn: 2, fail: 0 });
    expect(ran.stored.map((s) => [s.name, s.matched, s.mismatched])).toEqual([['file_rows', 2, 1], ['fees', 39, 1]]);
    expect(ran.mismatches[0]).toMatchObject({ key: { path: 'b.csv' }, left_value: '5', right_value: '6', difference: '-1' });
  });

  it('query sides take params as bound values (an injection attempt matches nothing)', async () => {
    const rec = () => ({
      reconciliations: [{
        name: 'one_invoice', severity: 'warn',
        left: { query: 'SELECT invoice_id, total FROM invoices WHERE invoice_id = :param_invoice', key: ['invoice_id'], value: 'total' },
        right: { query: "SELECT invoice_id, amount FROM invoice_items WHERE item_type = 'total' AND invoice_id = :param_invoice", key: ['invoice_id'], value: 'amount' },
      }],
    });
    const honest = await reconcile(rec(), { params: { invoice: 'I5' } });
    expect(honest.stored[0]).toMatchObject({ keys_total: 1, mismatched: 1 });
    const evil = await reconcile(rec(), { params: { invoice: "I5' OR '1'='1" } });
    expect(evil.stored[0]).toMatchObject({ keys_total: 0 });
  });

  it('preflight: a missing column of a side → COLUMN_NOT_FOUND naming the side', async () => {
    const options = reconcileKind.options.parse({ reconciliations: [{ ...TOTALS, right: { ...TOTALS.right, value: 'amout' } }] });
    const client = await database.pool.connect();
    try {
      await expect(reconcileKind.preflight?.(options, { client })).rejects.toMatchObject({
        code: 'COLUMN_NOT_FOUND',
        message: expect.stringContaining('reconciliation "invoice_total" (right): column "amout" does not exist in table "invoice_items"'),
      });
    } finally {
      client.release();
    }
  });

  it('options: both sides need the same number of key columns; a side needs a value', () => {
    expect(reconcileKind.options.safeParse({ reconciliations: [{ ...TOTALS, right: { ...TOTALS.right, key: ['invoice_id', 'item_type'] } }] }).success).toBe(false);
    expect(reconcileKind.options.safeParse({ reconciliations: [{ ...TOTALS, left: { table: 'invoices', key: ['invoice_id'] } }] }).success).toBe(false);
  });
});
