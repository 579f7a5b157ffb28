/**
 * The incremental extract's watermark per DAG + task (`extract_watermarks`): read at the start
 * of a try, and — on the try's transaction, with the rows it covers — moved to the highest value
 * of the watermark column among the staged records (never backwards).
 */
import { and, eq } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { quoteIdent } from '../../db/identifiers.ts';
import { extractWatermarks } from '../../db/schema/extract.ts';
import { sqlType } from '../load/column-types.ts';
import type { ColumnSpec } from '../load/options.ts';
import { STAGING_TABLE } from '../load/plan.ts';

export interface WatermarkKey {
  dagId: string;
  taskId: string;
}

/** The committed watermark; null when there is none yet or it was kept for another column. */
export async function readWatermark(db: NodePgDatabase, key: WatermarkKey, column: string): Promise<string | null> {
  const rows = await db
    .select({ value: extractWatermarks.value })
    .from(extractWatermarks)
    .where(and(eq(extractWatermarks.dagId, key.dagId), eq(extractWatermarks.taskId, key.taskId), eq(extractWatermarks.column, column)));
  return rows[0]?.value ?? null;
}

export async function saveWatermark(db: NodePgDatabase, key: WatermarkKey, column: string, value: string, runId: string): Promise<void> {
  const row = { ...key, column, value, runId };
  await db
    .insert(extractWatermarks)
    .values(row)
    .onConflictDoUpdate({ target: [extractWatermarks.dagId, extractWatermarks.taskId], set: { column, value, runId, updatedAt: new Date() } });
}

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.US'`;

/** SQL text of a value of the column as the source is sent it: ISO 8601 (UTC `Z` for timestamptz), or digits. */
function asText(spec: ColumnSpec, value: string): string {
  switch (spec.type) {
    case 'timestamptz': return `to_char(${value} AT TIME ZONE 'UTC', ${ISO})`;
    case 'timestamp': return `to_char(${value}, ${ISO})`;
    case 'date': return `to_char(${value}, 'YYYY-MM-DD')`;
    default: return `${value}::text`;
  }
}

/** The greater of `previous` and the staged records' highest value; null when there is neither. */
export async function nextWatermark(client: pg.PoolClient, spec: ColumnSpec, previous: string | null): Promise<string | null> {
  const column = quoteIdent(spec.name, 'column');
  const highest = `GREATEST(max(s.${column}), $1::${sqlType(spec)})`;
  const res = await client.query<{ value: string | null }>(
    `SELECT ${asText(spec, highest)} AS value FROM pg_temp.${quoteIdent(STAGING_TABLE)} s`,
    [previous],
  );
  const value = res.rows[0].value;
  if (value === null || (spec.type !== 'timestamptz' && spec.type !== 'timestamp')) return value;
  const trimmed = value.replace(/\.?0+$/, ''); // 10:22:33.500000 → 10:22:33.5, .000000 → none
  return spec.type === 'timestamptz' ? `${trimmed}Z` : trimmed;
}
