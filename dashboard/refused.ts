/**
 * The refused-rows browser's data: a load task's audit table (from its DAG options, as the load
 * job names it) and the database it is in — the database of record, or the load's `connection`
 * (a warehouse keeps its own audit rows) —, one page of a run's refused rows by id cursor,
 * filtered by rule and column, and the same rows as CSV, cells formula-escaped like report cells.
 * The table name comes from the definition, never from the request.
 */
import type pg from 'pg';
import { z } from 'zod';
import { connectionsConfigured, processConnections } from '../engine/connections.ts';
import { TributaryError } from '../engine/errors.ts';
import type { CompiledDag, Json } from '../engine/types.ts';
import { auditTarget, type AuditTarget } from '../jobs/load/audit.ts';
import { escapeFormula } from '../jobs/report/cells.ts';

const LoadNames = z.object({ target: z.string(), audit: z.string().optional(), connection: z.string().optional() });

/** Where a load's refused rows are: its audit table, in the database of record or in its connection. */
export interface RefusedSource {
  audit: AuditTarget;
  /** The load's `connection` option; null = the database of record. */
  connection: string | null;
}

/** The refused rows' source of `taskId`, a load task of `dag`. */
export function auditOf(dag: CompiledDag, taskId: string): RefusedSource {
  const task = dag.tasks.get(taskId);
  if (!task) throw new TributaryError('TASK_NOT_FOUND', `dag "${dag.id}" has no task "${taskId}"`);
  const names = LoadNames.safeParse(task.options);
  if (task.kind !== 'load' || !names.success) {
    throw new TributaryError('ARGUMENT_INVALID', `task "${taskId}" of dag "${dag.id}" is not a load: it has no refused rows`);
  }
  return { audit: auditTarget(names.data.target, names.data.audit), connection: names.data.connection ?? null };
}

/**
 * The pool to read `source` with: `record` (the database of record), or the pool of the load's
 * connection. CONNECTION_UNDEFINED (a 503 saying what to set) when this process does not define it.
 */
export function refusedPool(record: pg.Pool, source: RefusedSource): pg.Pool {
  if (source.connection === null) return record;
  const name = source.connection;
  if (!connectionsConfigured() || !processConnections().names().includes(name)) {
    throw new TributaryError('CONNECTION_UNDEFINED',
      `the refused rows of this load are in connection "${name}" (${source.audit.schema}.${source.audit.table}), which this dashboard does not define: set TRIB_CONN_${name.toUpperCase()} (or TRIB_CONNECTIONS_FILE) where the dashboard runs to browse them here`);
  }
  return processConnections().pool(name);
}

export interface RefusedFilter {
  rule?: string;
  column?: string;
}

export interface RefusedRow {
  id: number;
  mapIndex: number;
  file: string;
  line: number;
  raw: string;
  errors: Array<{ column: string | null; rule: string; message: string; value?: Json }>;
  reason: string;
}

/** Matching rows are counted up to this many (a count over a million rows is not worth a page view). */
export const COUNT_CAP = 10_000;

export interface RefusedPage {
  rows: RefusedRow[];
  /** Rows matching the filter in this run and task, counted up to COUNT_CAP. */
  total: number;
  /** True when there are more than `total` (the count stopped at COUNT_CAP). */
  totalCapped: boolean;
  /** Pass as `after` for the next page; null on the last one. */
  nextAfter: number | null;
}

/** $1 run id (text), $2 task id, $3 rule, $4 column (null = any): the WHERE of every refused-rows query. */
const FILTER = `run_id = $1 AND task_id = $2
  AND ($3::text IS NULL AND $4::text IS NULL
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(errors) e
                  WHERE ($3::text IS NULL OR e ->> 'rule' = $3) AND ($4::text IS NULL OR e ->> 'column' = $4)))`;

async function tableExists(pool: pg.Pool, audit: AuditTarget): Promise<boolean> {
  const { rows } = await pool.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [audit.sql]);
  return rows[0].ok;
}

/** Rows matching the filter after id `after`, one more than `limit` (so the caller knows if more follow). */
async function refusedRows(pool: pg.Pool, audit: AuditTarget, args: unknown[], after: number, limit: number): Promise<RefusedRow[]> {
  // Ordered by the table's bigint id (its primary key), not by a converted output column.
  const { rows } = await pool.query<RefusedRow & { id: string; line: string }>(
    `SELECT id, map_index AS "mapIndex", file, line, raw, errors, reason
     FROM ${audit.sql} WHERE ${FILTER} AND id > $5 ORDER BY id LIMIT $6`,
    [...args, after, limit + 1],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), line: Number(r.line) }));
}

const filterArgs = (runId: number, taskId: string, filter: RefusedFilter) => [String(runId), taskId, filter.rule || null, filter.column || null];

export async function refusedPage(
  pool: pg.Pool, audit: AuditTarget, runId: number, taskId: string, filter: RefusedFilter, page: { after?: number; limit: number },
): Promise<RefusedPage> {
  if (!(await tableExists(pool, audit))) return { rows: [], total: 0, totalCapped: false, nextAfter: null };
  const args = filterArgs(runId, taskId, filter);
  const [rows, total] = await Promise.all([
    refusedRows(pool, audit, args, page.after ?? 0, page.limit),
    pool.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM (SELECT 1 FROM ${audit.sql} WHERE ${FILTER} LIMIT ${COUNT_CAP + 1}) AS capped`, args),
  ]);
  const list = rows.slice(0, page.limit);
  const n = total.rows[0].n;
  return { rows: list, total: Math.min(n, COUNT_CAP), totalCapped: n > COUNT_CAP, nextAfter: rows.length > page.limit ? list[list.length - 1].id : null };
}

/** The rules and columns among the first FACET_SAMPLE refused rows of a run's task (suggestions for the filter). */
const FACET_SAMPLE = 5_000;


export async function refusedFacets(pool: pg.Pool, audit: AuditTarget, runId: number, taskId: string): Promise<{ rules: string[]; columns: string[] }> {
  if (!(await tableExists(pool, audit))) return { rules: [], columns: [] };
  const { rows } = await pool.query<{ rule: string | null; column: string | null }>(
    `SELECT DISTINCT e ->> 'rule' AS rule, e ->> 'column' AS column
     FROM (SELECT errors FROM ${audit.sql} WHERE run_id = $1 AND task_id = $2 ORDER BY id LIMIT ${FACET_SAMPLE}) AS s
     CROSS JOIN LATERAL jsonb_array_elements(s.errors) e`,
    [String(runId), taskId],
  );
  const sorted = (xs: Array<string | null>) => [...new Set(xs.filter((x): x is string => x !== null))].sort();
  return { rules: sorted(rows.map((r) => r.rule)), columns: sorted(rows.map((r) => r.column)) };
}

/** A spreadsheet never runs a cell as a formula (`=cmd|…` → `'=cmd|…`); then quoted when needed. */
function csvField(raw: string): string {
  const value = escapeFormula(raw);
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export const REFUSED_CSV_COLUMNS = ['file', 'line', 'reason', 'rules', 'columns', 'errors', 'raw'];

/** Every matching refused row as CSV lines (header first), read in pages of 5,000 so memory stays flat. */
export async function* refusedCsv(pool: pg.Pool, audit: AuditTarget, runId: number, taskId: string, filter: RefusedFilter): AsyncGenerator<string> {
  yield `${REFUSED_CSV_COLUMNS.join(',')}\n`;
  if (!(await tableExists(pool, audit))) return;
  const args = filterArgs(runId, taskId, filter);
  for (let after = 0; ;) {
    const rows = await refusedRows(pool, audit, args, after, 5000);
    const page = rows.slice(0, 5000);
    for (const r of page) {
      yield `${[
        r.file, String(r.line), r.reason, r.errors.map((e) => e.rule).join(';'), r.errors.map((e) => e.column ?? '').join(';'),
        r.errors.map((e) => e.message).join('; '), r.raw,
      ].map(csvField).join(',')}\n`;
    }
    if (rows.length <= 5000) return;
    after = page[page.length - 1].id;
  }
}
