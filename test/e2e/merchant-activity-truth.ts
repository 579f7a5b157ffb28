/**
 * What a merchant_activity run found, read back from Postgres (file ledger, audit tables, the
 * events table, stored report rows), and its differences from the generator's truth. Shared by
 * the e2e test and bench:pipelines.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { Json } from '../../engine/types.ts';
import { W3_DEFECT_KINDS, type W3DefectKind, type W3Truth } from '../../samples/w3-merchant-activity.ts';

/** Which planted kind a refused row is, from its errors (column:rule): each has exactly one. */
export const KIND_BY_ERRORS: Record<string, W3DefectKind> = {
  'event_timestamp:required': 'timestamp_empty',
  'event_timestamp:format': 'timestamp_malformed',
  'amount:type': 'amount_text',
  'amount:min': 'amount_negative',
  'product:enum': 'product_invalid',
  'event_type:enum': 'event_type_invalid',
  'status:enum': 'status_invalid',
  'channel:enum': 'channel_invalid',
  'merchant_tier:enum': 'tier_invalid',
};

/** Planted kinds that are not refused: repeats are deduplicated, `1,250.00` amounts coerced. */
const NOT_REFUSED: readonly W3DefectKind[] = ['duplicate_event_id', 'repeated_event_id', 'amount_thousands_separator'];

/** The refused-row counts a file's audit must show: its planted kinds, zero for those not refused. */
export function refusedKinds(defects: Record<W3DefectKind, number>): Record<string, number> {
  return Object.fromEntries(W3_DEFECT_KINDS.map((k) => [k, NOT_REFUSED.includes(k) ? 0 : defects[k]]));
}

/** The rows each report task must store for the truth's days (all of them: the last day's run). */
export function expectedReports(truth: W3Truth): Record<string, Json> {
  const r = truth.reports;
  return {
    top_merchants: r.top_merchants_by_success_amount.map((m, i) => ({ rank: i + 1, ...m })),
    monthly_active_merchants: r.monthly_active_merchants,
    product_adoption: r.product_adoption,
    kyc_funnel: r.kyc_funnel,
    failure_rate_by_product: r.failure_rate_by_product,
  };
}

interface FileFindings {
  rows_read: number;
  rows_loaded: number;
  rows_rejected: number;
  rows_deduplicated: number;
  coerced: number;
  refused: Record<string, number>;
}

/** Per file (by name) what the loads recorded; the events table's size; the reports of `runId`. */
export async function findings(pool: pg.Pool, runId: number) {
  const q = async <R extends object>(sql: string, values: unknown[] = []) => (await pool.query<R>(sql, values)).rows;
  const files: Record<string, FileFindings> = {};
  const ledger = await q<{ path: string; rows_read: number; rows_loaded: number; rows_rejected: number; rows_deduplicated: number }>(
    `SELECT path, rows_read::int, rows_loaded::int, rows_rejected::int, rows_deduplicated::int FROM load_ledger WHERE target = 'merchant_events'`,
  );
  for (const { path: p, ...counts } of ledger) {
    files[path.basename(p)] = { ...counts, coerced: 0, refused: Object.fromEntries(W3_DEFECT_KINDS.map((k) => [k, 0])) };
  }
  const refused = await q<{ file: string; rules: string; n: number }>(
    `SELECT file, (SELECT string_agg(e->>'column' || ':' || (e->>'rule'), ',') FROM jsonb_array_elements(errors) e) AS rules, count(*)::int AS n
       FROM audit.merchant_events_rejects GROUP BY 1, 2`,
  );
  for (const r of refused) {
    const f = files[path.basename(r.file)];
    const kind = KIND_BY_ERRORS[r.rules] ?? `unexpected ${r.rules}`;
    if (f) f.refused[kind] = (f.refused[kind] ?? 0) + r.n;
  }
  for (const c of await q<{ file: string; n: number }>('SELECT file, count(*)::int AS n FROM audit.merchant_events_coercions GROUP BY file')) {
    const f = files[path.basename(c.file)];
    if (f) f.coerced = c.n;
  }
  const [{ n: events }] = await q<{ n: number }>('SELECT count(*)::int AS n FROM merchant_events');
  const stored = await q<{ task_id: string; rows: Json }>('SELECT task_id, rows FROM reports WHERE run_id = $1', [runId]);
  return { files, events, reports: Object.fromEntries(stored.map((r) => [r.task_id, r.rows])) as Record<string, Json> };
}

/** Every way the findings differ from the truth, one line each (none: the run matches). */
export function truthDifferences(found: Awaited<ReturnType<typeof findings>>, truth: W3Truth): string[] {
  const out: string[] = [];
  const same = isDeepStrictEqual;
  for (const t of truth.files) {
    const f = found.files[t.file];
    const want: FileFindings = {
      rows_read: t.rows, rows_loaded: t.loaded, rows_rejected: t.rejected, rows_deduplicated: t.deduplicated,
      coerced: t.coerced_amounts, refused: refusedKinds(t.defects),
    };
    if (!same(f, want)) out.push(`${t.file}: found ${JSON.stringify(f)}, truth ${JSON.stringify(want)}`);
  }
  if (found.events !== truth.unique_valid_events) out.push(`merchant_events: ${found.events} rows, truth ${truth.unique_valid_events}`);
  for (const [task, rows] of Object.entries(expectedReports(truth))) {
    if (!same(found.reports[task], rows)) out.push(`report ${task}: ${JSON.stringify(found.reports[task])}, truth ${JSON.stringify(rows)}`);
  }
  return out;
}
