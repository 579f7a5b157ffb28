/**
 * Trusted SQL over the load ledger: the file each table holds now, i.e. its latest load (a file
 * the ledger skipped as already loaded is still the one its earlier load recorded).
 */
import { CREDIT_TABLES, qualified, type CreditTable } from './model.ts';

/** One row: the ledger entry of the file `table` holds now. */
export function latestFileSql(table: CreditTable): string {
  return `SELECT run_id, task_id, path, rows_read, rows_loaded, rows_rejected, rows_deduplicated FROM load_ledger
    WHERE target = '${qualified(table)}' ORDER BY loaded_at DESC, id DESC LIMIT 1`;
}

/** One row per table (`table_name`, without schema): the ledger entry of the file it holds now. */
export const LATEST_FILES_SQL = CREDIT_TABLES.map((table) => `(SELECT '${table}' AS table_name, f.* FROM (${latestFileSql(table)}) AS f)`)
  .join('\n  UNION ALL ');
