/**
 * Test and bench helper for the credit platform: what a run found (failing count per check and
 * reconciliation, latest try), the warehouse's row counts and content checksums, and how those
 * differ from the samples' truth (an empty list when they match exactly).
 */
import type pg from 'pg';
import { CREDIT_TABLES, qualified, type CreditTable } from '../../../schedules/credit_platform/model.ts';
import { FAIL_ON } from '../../../schedules/credit_platform/reconciliations.ts';
import type { W2ExtractTruth } from '../../../samples/w2-credit-platform.ts';

export interface RunFindings {
  checks: Record<string, number>;
  reconciliations: Record<string, number>;
}

type Status = 'mismatched' | 'left_only' | 'right_only';

export async function runFindings(pool: pg.Pool, runId: number): Promise<RunFindings> {
  const checks = await pool.query<{ check_name: string; rows_failing: number }>(
    `SELECT DISTINCT ON (check_name) check_name, rows_failing FROM check_results WHERE run_id = $1 ORDER BY check_name, id DESC`,
    [runId],
  );
  const recs = await pool.query<{ name: string } & Record<Status, number>>(
    `SELECT DISTINCT ON (name) name, mismatched, left_only, right_only FROM reconcile_results WHERE run_id = $1 ORDER BY name, id DESC`,
    [runId],
  );
  return {
    checks: Object.fromEntries(checks.rows.map((r) => [r.check_name, r.rows_failing])),
    reconciliations: Object.fromEntries(
      recs.rows.map((r) => [r.name, (FAIL_ON[r.name] as Status[]).reduce((sum, status) => sum + r[status], 0)]),
    ),
  };
}

export async function tableRowCounts(pool: pg.Pool): Promise<Record<CreditTable, number>> {
  const counts = {} as Record<CreditTable, number>;
  for (const table of CREDIT_TABLES) {
    counts[table] = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified(table)}`)).rows[0].n;
  }
  return counts;
}

/** md5 of every row's text in a stable order, per table, over `columns` (default: all of them). */
export async function tableChecksums(pool: pg.Pool, columns?: Partial<Record<CreditTable, string[]>>): Promise<Record<CreditTable, string>> {
  const sums = {} as Record<CreditTable, string>;
  for (const table of CREDIT_TABLES) {
    const row = columns?.[table] ? `row(${columns[table].map((c) => `x."${c}"`).join(', ')})::text` : 'x::text';
    const { rows } = await pool.query<{ md5: string }>(`SELECT md5(string_agg(${row}, E'\\n' ORDER BY ${row})) AS md5 FROM ${qualified(table)} AS x`);
    sums[table] = rows[0].md5;
  }
  return sums;
}

/** Rows the truth expects in each table: the file's rows less those with a null or repeated key. */
export function expectedRowCounts(extract: W2ExtractTruth): Record<CreditTable, number> {
  return Object.fromEntries(
    CREDIT_TABLES.map((t) => [t, extract.files[t].rows - extract.files[t].null_key_rows - extract.files[t].duplicate_key_rows]),
  ) as Record<CreditTable, number>;
}

/** `name: found x, truth y` for every count that differs (checks and reconciliations named by the truth). */
export function truthDifferences(found: RunFindings, extract: W2ExtractTruth): string[] {
  const diff = (kind: keyof RunFindings, truth: Record<string, number>) =>
    Object.entries(truth)
      .filter(([name, n]) => found[kind][name] !== n)
      .map(([name, n]) => `${name}: found ${found[kind][name] ?? 'nothing'}, truth ${n}`);
  return [...diff('checks', extract.checks), ...diff('reconciliations', extract.reconciliations)];
}
