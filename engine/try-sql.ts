/**
 * A try's transitions after its claim, each a thin call of one engine/sql function (the contract
 * is on top of its file): retry, infra-retry, reschedule, heartbeat, and the end's statement
 * (engine/transitions.ts runs it). Each end of an attempt is a compare-and-set on (id, try,
 * attempt, 'running'): a delivery that lost its claim changes nothing and gets null.
 */
import type pg from 'pg';
import type { Json } from './types.ts';

/** engine/sql/end.sql: trib_end(instance, try, attempt, state, result, error, code, log lines ×4, worker, lease ms, take queue, upstream key). */
export const END_SQL = 'SELECT trib_end($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) AS ended';

/** What a failed attempt leaves: its error, its code, and how long until the next attempt or try. */
export interface AttemptFailure {
  error: string;
  code: string | null;
  delayMs: number;
}

async function jobIdOf(client: pg.PoolClient, name: string, text: string, values: unknown[]): Promise<string | null> {
  const { rows } = await client.query<{ job_id: string | null }>({ name, text, values });
  return rows[0]?.job_id ?? null;
}

/** engine/sql/retry.sql: the task's own retry; the next try's job id, null when the claim was lost. */
export function retryTry(client: pg.PoolClient, c: Claimed, f: AttemptFailure): Promise<string | null> {
  return jobIdOf(client, 'trib_retry', 'SELECT trib_retry($1, $2, $3, $4, $5, $6) AS job_id', [
    c.id, c.try_number, c.attempt, f.error, f.code, f.delayMs,
  ]);
}

/** engine/sql/infra-retry.sql: another attempt of the same try; its job id, null when the claim was lost. */
export function infraRetryTry(client: pg.PoolClient, c: Claimed, f: AttemptFailure): Promise<string | null> {
  return jobIdOf(client, 'trib_infra_retry', 'SELECT trib_infra_retry($1, $2, $3, $4, $5, $6) AS job_id', [
    c.id, c.try_number, c.attempt, f.error, f.code, f.delayMs,
  ]);
}

/** engine/sql/reschedule.sql: a sensor's next poke; its job id, null when the claim was lost. */
export function rescheduleTry(client: pg.PoolClient, c: Claimed, state: Json, delayMs: number): Promise<string | null> {
  return jobIdOf(client, 'trib_reschedule', 'SELECT trib_reschedule($1, $2, $3, $4, $5) AS job_id', [
    c.id, c.try_number, c.attempt, JSON.stringify(state ?? null), delayMs,
  ]);
}

/**
 * engine/sql/fenced.sql: records on its attempt that this delivery found its claim taken over and
 * committed nothing (the run page and `trib run show` list it). Best effort, on the pool: the
 * delivery's own connection may be the one the takeover ended.
 */
export async function markFenced(pool: pg.Pool, c: Claimed): Promise<void> {
  await pool.query('SELECT trib_fenced($1, $2, $3)', [c.id, c.try_number, c.attempt]).catch(() => undefined);
}

/** engine/sql/heartbeat.sql: renews the leases this worker still holds; how many. */
export async function renewLeases(pool: pg.Pool, instanceIds: number[], worker: string, leaseMs: number): Promise<number> {
  const { rows } = await pool.query<{ renewed: number }>({
    name: 'trib_heartbeat', text: 'SELECT trib_heartbeat($1, $2, $3) AS renewed', values: [instanceIds, worker, leaseMs],
  });
  return rows[0].renewed;
}

/** A claimed try: the row trib_claim returns (engine/transitions.ts claimAndBegin). */
export interface Claimed {
  id: number;
  run_id: number;
  task_id: string;
  map_index: number;
  try_number: number;
  max_tries: number;
  map_item: Json;
  resume_state: Json;
  pokes: number;
  attempt: number;
  lost_attempts: number;
  infra_retries: number;
  dag_id: string;
  logical_date: Date;
  interval_end: Date;
  params: Record<string, Json>;
  /** Results of the task's upstream tasks, by task id (a mapped parent holds its children's list). Handlers get a copy. */
  upstream: Record<string, Json>;
  /** The DAG version the run was created with (dag_runs.dag_version); null for runs from before versions. */
  run_dag_version: string | null;
  /** Which rows `upstream` was read from (engine/sql/claim.sql): a sibling with the same key has the same results. */
  upstream_key: string | null;
}
