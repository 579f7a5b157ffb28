/**
 * Retention on the postgres connections this process defines (warehouses a load wrote into): the
 * inbox rows (`<engine schema>.load_inbox` there) of the runs being deleted, and the refused rows (`audit.*`)
 * those loads committed with them. A warehouse load's audit rows and its inbox row commit in one
 * transaction, so every such audit row has an inbox row naming its run's id AND its run's creation
 * time: matching both keeps one engine's clean from touching another engine's runs that happen to
 * share an id in the same warehouse. The ledger stays (it dedupes files), as on the database of record.
 * Runs before their engine rows: a warehouse that cannot be reached stops the clean, so no
 * warehouse row is left behind naming a run that is gone.
 */
import pg from 'pg';
import { processConnections } from './connections.ts';
import { describeError, TributaryError } from './errors.ts';

export interface ExpiredRun {
  id: number;
  /** dag_runs.created_at in µs since 1970, as the inbox stores it. */
  createdUs: number;
}

/** $1 run ids (text), $2 their creation µs: the expired runs as rows `r(run_id, created_us)`. */
const RUNS = 'unnest($1::text[], $2::bigint[]) AS r(run_id, created_us)';

/** The audit tables on a warehouse: every table of schema `audit` with run_id and task_id columns. */
async function warehouseAuditTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT format('audit.%I', table_name) AS name FROM information_schema.columns
     WHERE table_schema = 'audit' AND column_name IN ('run_id', 'task_id')
     GROUP BY table_name HAVING count(*) = 2 ORDER BY table_name`,
  );
  return rows.map((r) => r.name);
}

async function cleanOne(
  pool: pg.Pool, schema: string, runs: ExpiredRun[], dryRun: boolean, batch: number, count: (table: string, n: number) => void,
): Promise<void> {
  const INBOX = `${pg.escapeIdentifier(schema)}.load_inbox`;
  const { rows } = await pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [INBOX]);
  if (!rows[0].ok) return; // no load of this engine schema ever wrote here
  // Rows of an audit table (alias t) of the expired runs' warehouse loads, as a WHERE.
  const auditOfExpired = `EXISTS (SELECT 1 FROM ${INBOX} i JOIN ${RUNS} ON i.run_id = r.run_id AND i.run_created_us = r.created_us
    WHERE i.run_id = t.run_id::text AND i.task_id = t.task_id)`;
  const args = [runs.map((r) => String(r.id)), runs.map((r) => r.createdUs)];
  for (const table of await warehouseAuditTables(pool)) {
    if (dryRun) {
      count(table, (await pool.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${table} t WHERE ${auditOfExpired}`, args)).rows[0].n);
      continue;
    }
    const sql = `DELETE FROM ${table} t WHERE t.ctid = ANY(ARRAY(SELECT t.ctid FROM ${table} t WHERE ${auditOfExpired} LIMIT $3))`;
    for (let deleted = batch; deleted === batch; ) {
      deleted = (await pool.query(sql, [...args, batch])).rowCount ?? 0;
      count(table, deleted);
    }
  }
  const inbox = dryRun
    ? (await pool.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${INBOX} i JOIN ${RUNS} ON i.run_id = r.run_id AND i.run_created_us = r.created_us`, args)).rows[0].n
    : (await pool.query(`DELETE FROM ${INBOX} i USING ${RUNS} WHERE i.run_id = r.run_id AND i.run_created_us = r.created_us`, args)).rowCount ?? 0;
  count(`${schema}.load_inbox`, inbox);
}

/**
 * Cleans (or, dry, counts) the expired runs' rows on every postgres connection of this process,
 * whose inbox is in warehouse schema `schema` (the engine's);
 * `count(connection, table, rows)` adds to the caller's totals. DATABASE_UNAVAILABLE naming the
 * connection when one cannot be reached.
 */
export async function cleanOnConnections(
  schema: string, runs: ExpiredRun[], options: { dryRun: boolean; batch: number }, count: (connection: string, table: string, n: number) => void,
): Promise<void> {
  if (runs.length === 0) return;
  const connections = processConnections();
  for (const shown of connections.list()) {
    if (shown.kind !== 'postgres') continue;
    try {
      await cleanOne(connections.pool(shown.name), schema, runs, options.dryRun, options.batch, (table, n) => count(shown.name, table, n));
    } catch (err) {
      throw new TributaryError('DATABASE_UNAVAILABLE',
        `retention on connection "${shown.name}" (${shown.url}) failed: ${describeError(err)}; nothing more was deleted, the next clean retries`, { cause: err });
    }
  }
}
