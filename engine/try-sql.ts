/**
 * The statements that move one try. Each is one round trip and states its contract on top.
 * Lock order, everywhere: the run row first, then task rows. A try's end (parent or mapped child)
 * takes the run FOR NO KEY UPDATE before touching any task row — never a weaker lock upgraded
 * later, which deadlocks against a waiting clear/mark — and clear/mark take it FOR UPDATE.
 * (Mapped children already queue on their parent's row to count down; the run lock adds no wait.)
 * Every end-of-attempt statement is a compare-and-set on (id, try, attempt, state 'running'):
 * a delivery that lost its claim changes nothing.
 */

/**
 * claim($1 instance, $2 try, $3 worker, $4 lease ms) → the try's context rows, or nothing.
 * Starts a new attempt of a queued try, or takes over a running one whose lease expired (its
 * worker is lost: that attempt is closed as 'lost' and counted in lost_attempts). A try that is
 * finished, or running under a live lease, is not claimed.
 */
export const CLAIM_SQL = `
WITH claimed AS (
  UPDATE task_instances ti SET state = 'running', started_at = now(), worker = $3, updated_at = now(),
    attempt = ti.attempt + 1, lost_attempts = ti.lost_attempts + (ti.state = 'running')::int,
    lease_until = now() + make_interval(secs => $4::float8 / 1000), not_before = NULL
  FROM dag_runs r
  WHERE ti.id = $1 AND ti.try_number = $2 AND r.id = ti.run_id AND r.state = 'running'
    AND (ti.state IN ('queued', 'up_for_retry')
      OR (ti.state = 'running' AND (ti.lease_until IS NULL OR ti.lease_until < now())))
  RETURNING ti.id, ti.run_id, ti.task_id, ti.map_index, ti.try_number, ti.max_tries, ti.map_item,
            ti.resume_state, ti.pokes, ti.attempt, ti.lost_attempts, ti.infra_retries,
            r.dag_id, r.logical_date, r.interval_end, r.params
), lost AS (
  UPDATE task_attempts a SET state = 'lost', ended_at = now(), error_code = 'WORKER_LOST',
    error = 'worker ' || a.worker || ' was lost (its lease expired while the attempt was running)'
  FROM claimed WHERE a.task_instance_id = claimed.id AND a.try_number = claimed.try_number AND a.state = 'running'
), attempt AS (
  INSERT INTO task_attempts (task_instance_id, try_number, attempt, state, worker, started_at)
  SELECT id, try_number, attempt, 'running', $3, now() FROM claimed
), tried AS (
  INSERT INTO task_tries (task_instance_id, try_number, state, worker, started_at)
  SELECT id, try_number, 'running', $3, now() FROM claimed
  ON CONFLICT (task_instance_id, try_number) DO UPDATE SET state = 'running', worker = $3
)
SELECT * FROM claimed`;

/** heartbeat($1 instance ids, $2 worker, $3 lease ms): renews the leases this worker still holds. */
export const HEARTBEAT_SQL = `
UPDATE task_instances SET lease_until = now() + make_interval(secs => $3::float8 / 1000)
WHERE id = ANY($1::bigint[]) AND worker = $2 AND state = 'running'`;

/** Takes the run's row lock a try's end and advancing need (see the top of this file). */
export const LOCK_RUN_SQL = 'SELECT state FROM dag_runs WHERE id = $1 FOR NO KEY UPDATE';

/**
 * succeed($1 instance, $2 try, $3 attempt, $4 result, $5–$8 log lines, $9 run id) → the run's
 * state read under its lock, or nothing when the claim was lost. One statement: the run lock
 * (first: the InitPlan runs before any task row is locked), the success compare-and-set, the try
 * and attempt rows, and the try's log lines.
 */
export const SUCCEED_SQL = `
WITH run AS (
  SELECT state FROM dag_runs WHERE id = $9 FOR NO KEY UPDATE
), done AS (
  UPDATE task_instances SET state = 'success', result = $4::jsonb, error = NULL, error_code = NULL, ended_at = clock_timestamp(),
    duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::int, resume_state = NULL,
    lease_until = NULL, updated_at = now()
  WHERE id = $1 AND try_number = $2 AND attempt = $3 AND state = 'running' AND (SELECT count(*) FROM run) >= 0
  RETURNING id, run_id, try_number, attempt, duration_ms
), tried AS (
  UPDATE task_tries t SET state = 'success', ended_at = clock_timestamp(), duration_ms = done.duration_ms, error = NULL, error_code = NULL
  FROM done WHERE t.task_instance_id = done.id AND t.try_number = done.try_number
), attempted AS (
  UPDATE task_attempts a SET state = 'success', ended_at = clock_timestamp()
  FROM done WHERE a.task_instance_id = done.id AND a.try_number = done.try_number AND a.attempt = done.attempt
), logs AS (
  INSERT INTO task_logs (task_instance_id, try_number, level, message, fields, at)
  SELECT done.id, done.try_number, l.level, l.message, l.fields, l.at
  FROM done, unnest($5::text[], $6::text[], $7::jsonb[], $8::timestamptz[]) AS l(level, message, fields, at)
)
SELECT done.id, (SELECT state FROM run) AS run_state FROM done`;

/**
 * finish($1 instance, $2 try, $3 attempt, $4 state, $5 result, $6 error, $7 code) → the instance
 * id, or nothing when the claim was lost. Ends the try (and its attempt) for good. The end time is
 * clock_timestamp(): now() would be the start of the try's transaction, before the handler.
 */
export const FINISH_SQL = `
WITH done AS (
  UPDATE task_instances SET state = $4, result = $5::jsonb, error = $6, error_code = $7, ended_at = clock_timestamp(),
    duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::int, resume_state = NULL,
    lease_until = NULL, updated_at = now()
  WHERE id = $1 AND try_number = $2 AND attempt = $3 AND state = 'running'
  RETURNING id, try_number, attempt, duration_ms
), tried AS (
  UPDATE task_tries t SET state = $4, ended_at = clock_timestamp(), duration_ms = done.duration_ms, error = $6, error_code = $7
  FROM done WHERE t.task_instance_id = done.id AND t.try_number = done.try_number
), attempted AS (
  UPDATE task_attempts a SET state = $4, ended_at = clock_timestamp(), error = $6, error_code = $7
  FROM done WHERE a.task_instance_id = done.id AND a.try_number = done.try_number AND a.attempt = done.attempt
)
SELECT id FROM done`;

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

/** A claimed try: the row CLAIM_SQL returns. */
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
}
