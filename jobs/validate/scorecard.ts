/**
 * Quality scorecard per table: its rows plus the rows this run's loads of it refused (they never
 * reached the table, but they are rows with issues), rows failing at least one counted check (a
 * row failing two checks counts once), clean rows and score % — from the row ids the checks marked
 * and the load ledger of the run.
 */
import type pg from 'pg';
import { FAILING_ROWS_TABLE } from './row-checks.ts';
import type { TableInfo } from '../sql/catalog.ts';

export type Scorecard = {
  table: string;
  /** Rows in the table plus rows refused when this run loaded it. */
  total_rows: number;
  clean_rows: number;
  /** Rows failing a counted check plus refused rows. */
  rows_with_issues: number;
  /** Rows this run's loads of the table refused (their audit rows), from the load ledger. */
  rows_refused: number;
  /** Percent of rows that are clean, two decimals; 100 for an empty table. */
  score: number;
  checks: string[];
};

/** $1 table name as the checks marked it, $2 run id, $3 the table as regclass text → its counts. */
const SCORECARD_SQL = (table: string) => `/* scorecard */
SELECT (SELECT count(*) FROM ${table}) AS total,
       (SELECT count(*) FROM (SELECT DISTINCT rel, tid FROM ${FAILING_ROWS_TABLE} WHERE table_name = $1) d) AS issues,
       (SELECT coalesce(sum(rows_rejected), 0) FROM load_ledger WHERE run_id = $2 AND to_regclass(target) = $3::regclass) AS refused`;

export function score(total: number, issues: number): number {
  return total === 0 ? 100 : Math.round(((total - issues) / total) * 10_000) / 100;
}

/** One scorecard per table, in the order first seen; `checks` are the names counted. */
export async function computeScorecards(
  client: pg.PoolClient,
  runId: string,
  tables: ReadonlyArray<{ info: TableInfo; checks: string[] }>,
): Promise<Scorecard[]> {
  const cards: Scorecard[] = [];
  for (const { info, checks } of tables) {
    const { rows } = await client.query<{ total: string; issues: string; refused: string }>(
      SCORECARD_SQL(info.sql), [info.qualified, runId, info.sql],
    );
    const refused = Number(rows[0].refused);
    const total = Number(rows[0].total) + refused;
    const issues = Number(rows[0].issues) + refused;
    cards.push({
      table: info.name, total_rows: total, clean_rows: total - issues, rows_with_issues: issues, rows_refused: refused,
      score: score(total, issues), checks,
    });
  }
  return cards;
}
