/**
 * Retention (like `airflow db clean`): deletes the runs that ended before a cutoff and every row
 * that names them — rows of every table referencing task_instances (logs, tries, attempts), task
 * instances, check/scorecard/reconcile results, reports and the rows of every `audit.*` table with
 * a run_id, and callback events — in batches, each statement its own transaction. Queued and
 * running runs are never touched; the load ledger is kept (it dedupes files). Each DAG's latest
 * run of each run type is kept, however old (`airflow db clean` keeps the last run too): the DAG
 * list shows it, and the scheduler's fallback for a DAG with no stored progress reads it. On the
 * warehouse connections this process defines, the same runs' inbox and refused rows go first
 * (engine/retention-connections.ts), counted as `<connection>:<table>`.
 */
import pg from 'pg';
import { connectionsConfigured } from './connections.ts';
import { cleanOnConnections, type ExpiredRun } from './retention-connections.ts';

export interface CleanOptions {
  /** Runs that ended (success or failed) before this instant are deleted. */
  before: Date;
  /** Only this DAG's runs. @default every DAG */
  dagId?: string;
  /** Count what would be deleted; delete nothing. @default false */
  dryRun?: boolean;
  /** Rows per DELETE statement (and runs per chunk). @default 5000 */
  batchSize?: number;
}

/** Table → rows deleted (or, in a dry run, rows that would be), in deletion order. */
export type CleanCounts = Map<string, number>;

export interface CleanResult {
  deleted: CleanCounts;
  /** Runs that ended before the cutoff and are kept: each the latest of its DAG and run type. */
  kept: number;
}

/** One table holding rows of runs (SQL alias `t`); `runKey` is the run id a row names. */
interface RunRows {
  name: string;
  /** Quoted table name. */
  table: string;
  /** Join to reach the run id, for tables keyed by task instance. */
  join?: string;
  runKey: string;
  /** The table stores run_id as text (audit tables). */
  textKey?: boolean;
}

const RESULT_ROWS: RunRows[] = ['callback_events', 'check_results', 'quality_scorecards', 'reconcile_mismatches', 'reconcile_results', 'reports'].map(
  (name) => ({ name, table: name, runKey: 't.run_id' }),
);
const INSTANCES: RunRows = { name: 'task_instances', table: 'task_instances', runKey: 't.run_id' };
const from = (t: RunRows) => `${t.table} t ${t.join ?? ''}`;

/** Runs that may go ($1 cutoff, $2 dag id or NULL): engine/sql/retention.sql holds the rule. */
const ELIGIBLE = 'trib_expired(dag_runs, $1, $2)';

/** Every table with a one-column foreign key to task_instances (task_logs, task_tries, …). */
async function instanceTables(pool: pg.Pool): Promise<RunRows[]> {
  const { rows } = await pool.query<{ schema: string; table: string; column: string; engine: boolean }>(
    `SELECT n.nspname AS schema, r.relname AS table, a.attname AS column, n.nspname = current_schema() AS engine
     FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.confrelid = 'task_instances'::regclass AND cardinality(c.conkey) = 1
     ORDER BY r.relname`,
  );
  return rows.map((r) => ({
    name: r.engine ? r.table : `${r.schema}.${r.table}`,
    table: `${pg.escapeIdentifier(r.schema)}.${pg.escapeIdentifier(r.table)}`,
    join: `JOIN task_instances ti ON ti.id = t.${pg.escapeIdentifier(r.column)}`,
    runKey: 'ti.run_id',
  }));
}

/** Every table of schema `audit` with a run_id column (made by load and extract jobs at first use). */
async function auditTables(pool: pg.Pool): Promise<RunRows[]> {
  const { rows } = await pool.query<{ table_name: string; data_type: string }>(
    `SELECT c.table_name, c.data_type FROM information_schema.columns c
     JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
     WHERE c.table_schema = 'audit' AND c.column_name = 'run_id' AND tb.table_type = 'BASE TABLE'
     ORDER BY c.table_name`,
  );
  return rows.map((r) => ({
    name: `audit.${r.table_name}`,
    table: `audit.${pg.escapeIdentifier(r.table_name)}`,
    runKey: 't.run_id',
    textKey: r.data_type === 'text' || r.data_type === 'character varying',
  }));
}

/**
 * $1 cutoff, $2 dag id, $3 run ids of this chunk, $4 batch size: locks the chunk's runs that are
 * still eligible (run row first, as every engine statement does), deletes up to $4 of `table`'s
 * rows naming them, returns how many.
 */
function deleteBatchSql(table: RunRows): string {
  const ids = table.textKey ? 'SELECT id::text FROM runs' : 'SELECT id FROM runs';
  return `WITH runs AS MATERIALIZED (
      SELECT id FROM dag_runs WHERE id = ANY($3::bigint[]) AND ${ELIGIBLE} FOR UPDATE),
    victims AS (SELECT t.ctid AS row_ref FROM ${from(table)} WHERE ${table.runKey} = ANY(ARRAY(${ids})) LIMIT $4)
    DELETE FROM ${table.table} t WHERE t.ctid = ANY(ARRAY(SELECT row_ref FROM victims))`;
}

/** $1 cutoff, $2 dag id: how many of `table`'s rows name an eligible run. */
function countSql(table: RunRows): string {
  const ids = table.textKey ? 'SELECT id::text FROM dag_runs' : 'SELECT id FROM dag_runs';
  return `SELECT count(*)::bigint AS n FROM ${from(table)} WHERE ${table.runKey} IN (${ids} WHERE ${ELIGIBLE})`;
}

/**
 * Deletes (or, dry, counts) the old runs and their rows; returns the rows per table and how many
 * old runs were kept as the latest of their DAG and type.
 */
export async function cleanRuns(pool: pg.Pool, options: CleanOptions): Promise<CleanResult> {
  const batch = options.batchSize ?? 5000;
  const args = [options.before, options.dagId ?? null];
  const tables = [...(await instanceTables(pool)), ...RESULT_ROWS, ...(await auditTables(pool)), INSTANCES];
  const counts: CleanCounts = new Map([...tables.map((t) => [t.name, 0] as const), ['dag_runs', 0]]);
  const elsewhere = (connection: string, table: string, n: number) => counts.set(`${connection}:${table}`, (counts.get(`${connection}:${table}`) ?? 0) + n);
  const expired = (sql: string, values: unknown[]) => pool.query<ExpiredRun>(
    `SELECT id::float8 AS id, (extract(epoch FROM created_at) * 1000000)::bigint::float8 AS "createdUs" FROM dag_runs WHERE ${ELIGIBLE} ${sql}`, values);
  const warehouses = connectionsConfigured();
  // The warehouse side keeps its inbox in a schema named like the engine's (jobs/load/warehouse-tables.ts).
  const schema = warehouses ? (await pool.query<{ s: string }>('SELECT current_schema() AS s')).rows[0].s : '';
  const latest = await pool.query<{ n: number }>('SELECT trib_retention_kept($1, $2) AS n', args);
  const result = { deleted: counts, kept: latest.rows[0].n };
  if (options.dryRun) {
    for (const table of tables) counts.set(table.name, (await pool.query<{ n: number }>(countSql(table), args)).rows[0].n);
    const runs = await pool.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM dag_runs WHERE ${ELIGIBLE}`, args);
    counts.set('dag_runs', runs.rows[0].n);
    if (warehouses) await cleanOnConnections(schema, (await expired('', args)).rows, { dryRun: true, batch }, elsewhere);
    return result;
  }
  for (;;) {
    const chunk = await expired('ORDER BY id LIMIT $3', [...args, batch]);
    if (chunk.rows.length === 0) return result;
    if (warehouses) await cleanOnConnections(schema, chunk.rows, { dryRun: false, batch }, elsewhere);
    const ids = chunk.rows.map((r) => r.id);
    for (const table of tables) {
      const sql = deleteBatchSql(table);
      for (let deleted = batch; deleted === batch; ) {
        deleted = (await pool.query(sql, [...args, ids, batch])).rowCount ?? 0;
        counts.set(table.name, (counts.get(table.name) ?? 0) + deleted);
      }
    }
    const runs = await pool.query<{ n: number }>('SELECT trib_delete_expired_runs($3, $1, $2) AS n', [...args, ids]);
    counts.set('dag_runs', (counts.get('dag_runs') ?? 0) + runs.rows[0].n);
  }
}
