/**
 * The file ledger: which content (sha256) was committed into which target/partition, by which
 * run and task, with its row accounting. Written in the same transaction as the rows it counts.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { loadLedger } from '../../db/schema/load.ts';

export interface LedgerEntry {
  target: string;
  partition: string;
  sha256: string;
  path: string;
  bytes: number;
  runId: string;
  taskId: string;
  mapIndex: number;
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  rowsDeduplicated: number;
  coercions: Record<string, number>;
}

/** True when this content is already committed for the target/partition. */
export async function inLedger(db: NodePgDatabase, target: string, partition: string, sha256: string): Promise<boolean> {
  const rows = await db
    .select({ id: loadLedger.id })
    .from(loadLedger)
    .where(and(eq(loadLedger.target, target), eq(loadLedger.partition, partition), eq(loadLedger.sha256, sha256)))
    .limit(1);
  return rows.length > 0;
}

/**
 * Content hashes of the last load into a target/partition (the entries written by its latest
 * transaction). In replace modes a file is only "already loaded" if it is what the table holds now.
 */
export async function latestInLedger(db: NodePgDatabase, target: string, partition: string): Promise<Set<string>> {
  const where = and(eq(loadLedger.target, target), eq(loadLedger.partition, partition));
  const rows = await db
    .select({ sha256: loadLedger.sha256 })
    .from(loadLedger)
    .where(and(where, sql`${loadLedger.loadedAt} = (SELECT max(loaded_at) FROM load_ledger WHERE target = ${target} AND partition = ${partition})`));
  return new Set(rows.map((r) => r.sha256));
}

/** Records a loaded file; a forced reload of the same content replaces the earlier entry. */
export async function recordInLedger(db: NodePgDatabase, entry: LedgerEntry): Promise<void> {
  await db
    .insert(loadLedger)
    .values(entry)
    .onConflictDoUpdate({
      target: [loadLedger.target, loadLedger.partition, loadLedger.sha256],
      set: {
        path: entry.path,
        bytes: entry.bytes,
        runId: entry.runId,
        taskId: entry.taskId,
        mapIndex: entry.mapIndex,
        rowsRead: entry.rowsRead,
        rowsLoaded: entry.rowsLoaded,
        rowsRejected: entry.rowsRejected,
        rowsDeduplicated: entry.rowsDeduplicated,
        coercions: entry.coercions,
        loadedAt: sql`now()`,
      },
    });
}
