/**
 * The credit platform's quality reports never turn missing evidence into a clean score: a table
 * none of whose checks ran in the run is `not_run` with no score, a declared check that did not
 * run is listed as `not_run`, refused rows count as rows with issues, and a report whose upstream
 * check task gave no result carries a warning. Results are planted as the validate task writes
 * them; the expected figures are worked out by hand in the comments.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../../engine/types.ts';
import { reportKind } from '../../../jobs/report/index.ts';
import { CREDIT_CHECKS } from '../../../schedules/credit_platform/checks.ts';
import { CREDIT_RECONCILIATIONS } from '../../../schedules/credit_platform/reconciliations.ts';
import { CHECKS_QUERY, SCORECARD_QUERY } from '../../../schedules/credit_platform/reports.ts';
import { CREDIT_TABLES } from '../../../schedules/credit_platform/model.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask } from '../../support/task-context.ts';
import { readRecords } from '../samples/csv-reader.ts';

const RUN = 900;
let database: TestDatabase;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'w2-not-run-'));
  await database.pool.query(`
    INSERT INTO credit_platform.senior_account_managers VALUES (1, 'a', 'a@x'), (2, 'b', 'b@x'), (3, 'c', 'c@x'), (4, 'd', 'd@x');
    INSERT INTO credit_platform.account_managers VALUES (1, 'p', 'p@x', 1), (2, 'q', 'q@x', 2), (3, 'r', 'r@x', 9);
    -- this run loaded account_managers: 5 rows read, 3 loaded, 2 refused
    INSERT INTO load_ledger (target, sha256, path, bytes, run_id, task_id, rows_read, rows_loaded, rows_rejected, rows_deduplicated)
    VALUES ('credit_platform.account_managers', 'f00d', '/d/account_managers.csv', 99, '${RUN}', 'load_account_managers', 5, 3, 2, 0);
    INSERT INTO check_results (run_id, task_id, check_name, check_kind, table_name, severity, rows_evaluated, rows_failing, outcome, duration_ms)
    VALUES (${RUN}, 'validate', 'fk_account_managers_sam', 'relationship', 'credit_platform.account_managers', 'warn', 3, 1, 'warn', 1),
           (${RUN}, 'validate', 'not_null_senior_account_managers', 'custom_sql', 'credit_platform.senior_account_managers', 'warn', 4, 0, 'pass', 1);
    -- validate's scorecard: 3 rows + 2 refused = 5 scored; 1 failing + 2 refused = 3 with issues
    INSERT INTO quality_scorecards (run_id, task_id, table_name, total_rows, clean_rows, rows_with_issues, score, checks)
    VALUES (${RUN}, 'validate', 'credit_platform.account_managers', 5, 2, 3, 40.00, '["fk_account_managers_sam"]');`);
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

async function report(query: string, fileName: string, upstream: Record<string, Json> = {}) {
  const options = reportKind.options.parse({ query, outputDir: dir, fileName });
  const outcome = await runTask(database.pool, (ctx) => reportKind.handler(ctx, options), { runId: String(RUN), upstream });
  const result = outcome as { path: string; warnings?: string[] };
  return { result, rows: await readRecords(result.path) };
}

describe('credit platform reports without evidence', () => {
  it('scores only tables whose checks ran, counting refused rows as rows with issues', async () => {
    const { rows } = await report(SCORECARD_QUERY, 'scorecard.csv');
    const byTable = Object.fromEntries(rows.map((r) => [r.table, r]));
    expect(rows.map((r) => r.table)).toEqual(CREDIT_TABLES);
    // Refused rows count: 3 in the table + 2 refused = 5 scored; 1 failing + 2 refused = 3 with issues.
    expect(byTable.account_managers).toMatchObject({
      status: 'scored', file_rows: '5', rows_refused_at_load: '2', total_rows: '3', rows_scored: '5',
      clean_rows: '2', rows_with_issues: '3', score_percent: '40.00', checks: '1', checks_failing: '1',
    });
    // A check ran (and found nothing): scored clean, no file in the ledger.
    expect(byTable.senior_account_managers).toMatchObject({
      status: 'scored', file_rows: '', rows_refused_at_load: '0', total_rows: '4', rows_scored: '4',
      clean_rows: '4', rows_with_issues: '0', score_percent: '100.00', checks: '1',
    });
    const others = rows.filter((r) => r.table !== 'account_managers' && r.table !== 'senior_account_managers');
    expect(others).toHaveLength(8);
    for (const r of others) expect(r).toMatchObject({ status: 'not_run', clean_rows: '', rows_with_issues: '', score_percent: '', checks: '0' });
  });

  it('lists every declared check and reconciliation, not_run where no result exists', async () => {
    const { rows } = await report(CHECKS_QUERY, 'checks.csv');
    const declared = [...CREDIT_CHECKS.checks.map((c) => c.name), ...CREDIT_RECONCILIATIONS.reconciliations.map((r) => r.name)];
    expect(rows.map((r) => r.name).sort()).toEqual([...declared].sort());
    const ran = rows.filter((r) => r.outcome !== 'not_run');
    expect(ran.map((r) => [r.name, r.outcome, r.failing])).toEqual([
      ['fk_account_managers_sam', 'warn', '1'],
      ['not_null_senior_account_managers', 'pass', '0'],
    ]);
    for (const r of rows.filter((row) => row.outcome === 'not_run')) expect([r.evaluated, r.failing]).toEqual(['', '']);
  });

  it('a report whose upstream check task gave no result carries a warning naming it', async () => {
    const { result } = await report(SCORECARD_QUERY, 'flagged.csv', { validate: null, validate_invoice_items: { checks: 3 } });
    expect(result.warnings).toEqual(['built without the results of validate: they did not succeed in this run']);
    const { result: clean } = await report(SCORECARD_QUERY, 'clean.csv', { validate: { checks: 3 } });
    expect(clean.warnings).toBeUndefined();
  });
});
