/**
 * Quality scorecard per table: total rows, rows failing at least one counted check (a row failing
 * two checks counts once), clean rows and score % — from the row ids the checks marked.
 */
import type pg from 'pg';
import { FAILING_ROWS_TABLE } from './row-checks.ts';
import type { TableInfo } from '../sql/catalog.ts';

export type Scorecard = {
  table: string;
  total_rows: number;
  clean_rows: number;
  rows_with_issues: number;
  /** Percent of rows that are clean, two decimals; 100 for an empty table. */
  score: number;
  checks: string[];
};

const SCORECARD_SQL = (table: string) => `/* scorecard */
SELECT (SELECT count(*) FROM ${table}) AS total,
       (SELECT count(*) FROM (SELECT DISTINCT rel, tid FROM ${FAILING_ROWS_TABLE} WHERE table_name = $1) d) AS issues`;

export function score(total: number, issues: number): number {
  return total === 0 ? 100 : Math.round(((total - issues) / total) * 10_000) / 100;
}

/** One scorecard per table, in the order first seen; `checks` are the names counted. */
export async function computeScorecards(
  client: pg.PoolClient,
  tables: ReadonlyArray<{ info: TableInfo; checks: string[] }>,
): Promise<Scorecard[]> {
  const cards: Scorecard[] = [];
  for (const { info, checks } of tables) {
    const { rows } = await client.query<{ total: number; issues: number }>(SCORECARD_SQL(info.sql), [info.qualified]);
    const total = Number(rows[0].total);
    const issues = Number(rows[0].issues);
    cards.push({ table: info.name, total_rows: total, clean_rows: total - issues, rows_with_issues: issues, score: score(total, issues), checks });
  }
  return cards;
}
