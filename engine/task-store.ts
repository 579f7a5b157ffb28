/** Reads and small writes around a try: upstream results for the context, and the try's log lines. */
import type pg from 'pg';
import type { CollectedLine } from './logger.ts';
import type { Json } from './types.ts';

/** Results of the given upstream tasks of a run, by task id (a mapped parent holds its children's list). */
export async function loadUpstreamResults(
  client: pg.PoolClient,
  runId: number,
  upstream: readonly string[],
): Promise<Record<string, Json>> {
  if (upstream.length === 0) return {};
  const { rows } = await client.query<{ task_id: string; result: Json }>({
    name: 'trib_upstream_results',
    text: 'SELECT task_id, result FROM task_instances WHERE run_id = $1 AND map_index = -1 AND task_id = ANY($2::text[])',
    values: [runId, upstream],
  });
  return Object.fromEntries(rows.map((r) => [r.task_id, r.result]));
}

export async function saveTaskLogs(db: pg.Pool | pg.PoolClient, taskInstanceId: number, tryNumber: number, lines: CollectedLine[]) {
  if (lines.length === 0) return;
  await db.query({
    name: 'trib_save_logs',
    text: `INSERT INTO task_logs (task_instance_id, try_number, level, message, fields, at)
     SELECT $1, $2, l.level, l.message, l.fields, l.at
     FROM unnest($3::text[], $4::text[], $5::jsonb[], $6::timestamptz[]) AS l(level, message, fields, at)`,
    values: [
      taskInstanceId,
      tryNumber,
      lines.map((l) => l.level),
      lines.map((l) => l.message),
      lines.map((l) => JSON.stringify(l.fields)),
      lines.map((l) => l.at),
    ],
  });
}
