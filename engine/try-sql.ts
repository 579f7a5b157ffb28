/**
 * The statements that move one try, each one round trip. Claiming and ending a try call the
 * engine's SQL functions (db/migrations/0010_engine_functions.sql and 0011_engine_transitions.sql,
 * contracts on top of each); the retry/reschedule statements below state theirs here. Lock order,
 * everywhere: the run row first, then task rows (see the migrations). Every end-of-attempt
 * statement is a compare-and-set on (id, try, attempt, state 'running'): a delivery that lost its
 * claim changes nothing.
 */

/**
 * trib_end($1 instance, $2 try, $3 attempt, $4 'success'|'failed', $5 result, $6 error, $7 code,
 * $8–$11 log lines, $12 worker, $13 lease ms, $14 take queue) → {won, jobs, settle?, next?}: ends
 * the try for good, decides what runs next, and may hand the next try of `take queue` over.
 */
export const END_SQL = 'SELECT trib_end($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) AS ended';

/** heartbeat($1 instance ids, $2 worker, $3 lease ms): renews the leases this worker still holds. */
export const HEARTBEAT_SQL = `
UPDATE task_instances SET lease_until = now() + make_interval(secs => $3::float8 / 1000)
WHERE id = ANY($1::bigint[]) AND worker = $2 AND state = 'running'`;

/**
 * retry($1 instance, $2 try, $3 attempt, $4 next job id, $5 error, $6 code, $7 delay ms) → a row
 * when it won. The task's own retry: the try fails, the next try (new number, counters reset) is
 * queued to start after the backoff.
 */
export const RETRY_SQL = `
WITH up AS (
  UPDATE task_instances SET state = 'up_for_retry', try_number = try_number + 1, job_id = $4, error = $5, error_code = $6,
    pokes = 0, resume_state = NULL, attempt = 0, lost_attempts = 0, infra_retries = 0, lease_until = NULL,
    not_before = now() + make_interval(secs => $7::float8 / 1000), updated_at = now()
  WHERE id = $1 AND try_number = $2 AND attempt = $3 AND state = 'running' RETURNING id
), tried AS (
  UPDATE task_tries t SET state = 'failed', ended_at = clock_timestamp(), error = $5, error_code = $6,
    duration_ms = (extract(epoch FROM clock_timestamp() - t.started_at) * 1000)::int
  FROM up WHERE t.task_instance_id = up.id AND t.try_number = $2
), attempted AS (
  UPDATE task_attempts a SET state = 'failed', ended_at = clock_timestamp(), error = $5, error_code = $6
  FROM up WHERE a.task_instance_id = up.id AND a.try_number = $2 AND a.attempt = $3
)
SELECT id FROM up`;

/**
 * infraRetry($1 instance, $2 try, $3 attempt, $4 job id, $5 error, $6 code, $7 delay ms) → a row
 * when it won. The database or queue failed under the attempt: the SAME try goes back to 'queued'
 * for another attempt after the delay; the task's own retries are untouched.
 */
export const INFRA_RETRY_SQL = `
WITH up AS (
  UPDATE task_instances SET state = 'queued', infra_retries = infra_retries + 1, job_id = $4, error = $5, error_code = $6,
    lease_until = NULL, not_before = now() + make_interval(secs => $7::float8 / 1000), updated_at = now()
  WHERE id = $1 AND try_number = $2 AND attempt = $3 AND state = 'running' RETURNING id
), attempted AS (
  UPDATE task_attempts a SET state = 'infra_error', ended_at = clock_timestamp(), error = $5, error_code = $6
  FROM up WHERE a.task_instance_id = up.id AND a.try_number = $2 AND a.attempt = $3
)
SELECT id FROM up`;

/**
 * reschedule($1 instance, $2 try, $3 attempt, $4 job id, $5 state, $6 delay ms) → a row when it
 * won. A sensor not yet satisfied goes back to 'queued' with its state kept; its poke is not an
 * attempt of its own (the attempt row is dropped, so a day of pokes leaves no rows behind).
 */
export const RESCHEDULE_SQL = `
WITH up AS (
  UPDATE task_instances SET state = 'queued', pokes = pokes + 1, job_id = $4, resume_state = $5::jsonb,
    attempt = attempt - 1, lease_until = NULL, not_before = now() + make_interval(secs => $6::float8 / 1000), updated_at = now()
  WHERE id = $1 AND try_number = $2 AND attempt = $3 AND state = 'running' RETURNING id
), dropped AS (
  DELETE FROM task_attempts a USING up WHERE a.task_instance_id = up.id AND a.try_number = $2 AND a.attempt = $3
)
SELECT id FROM up`;

/** A claimed try: the row trib_claim returns (engine/transitions.ts claimAndBegin). */
export interface Claimed {
  id: number;
  run_id: number;
  task_id: string;
  map_index: number;
  try_number: number;
  max_tries: number;
  map_item: import('./types.ts').Json;
  resume_state: import('./types.ts').Json;
  pokes: number;
  attempt: number;
  lost_attempts: number;
  infra_retries: number;
  dag_id: string;
  logical_date: Date;
  interval_end: Date;
  params: Record<string, import('./types.ts').Json>;
  /** Results of the task's upstream tasks, by task id (a mapped parent holds its children's list). */
  upstream: Record<string, import('./types.ts').Json>;
}
