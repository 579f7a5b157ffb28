/**
 * The statements an operator's clear and mark run (engine/operations.ts), each inside the
 * transaction that holds the run's row lock (lock order: the run row, then its task rows, then
 * their try and attempt rows). A clear or mark takes a task instance from whatever it was doing:
 * a try still running loses its claim there (its end's compare-and-set on (id, try, attempt,
 * 'running') finds the row changed, so nothing of it commits), and INTERRUPT_SQL closes its try
 * and attempt rows in the same transaction.
 */

/**
 * clear($1 run, $2 task ids, $3 each task's retries) → one row (id) per cleared instance. Every
 * instance of each task — a mapped task's parent and its children alike — goes back to 'none'
 * with a fresh set of retries counted from its current try, whose number the next try follows.
 * Children wait as 'none' until their parent expands again (trib_expand re-queues them).
 */
export const CLEAR_SQL = `
UPDATE task_instances ti SET state = 'none', max_tries = ti.try_number + c.retries + 1, result = NULL, error = NULL,
  error_code = NULL, resume_state = NULL, pokes = 0, ended_at = NULL, updated_at = now()
FROM unnest($2::text[], $3::int[]) AS c(task_id, retries)
WHERE ti.run_id = $1 AND ti.task_id = c.task_id
RETURNING ti.id`;

/**
 * mark($1 run, $2 task, $3 map index or NULL, $4 'success'|'failed') → one row (id) per marked
 * instance. With a map index, that child of a mapped task only; without, every instance of the
 * task (a mapped task's parent and all its children).
 */
export const MARK_SQL = `
UPDATE task_instances SET state = $4, ended_at = now(), updated_at = now(),
  error = CASE WHEN $4 = 'failed' THEN 'marked failed by operator' ELSE error END
WHERE run_id = $1 AND task_id = $2 AND ($3::int IS NULL OR map_index = $3)
RETURNING id`;

/**
 * interrupt($1 instance ids, $2 reason) → {tries, attempts}: how many were closed. Every try and
 * attempt of these instances still 'running' becomes 'interrupted', with its end time and the
 * reason as its error: a running try, or a queued one that already has a try row (an engine
 * retry after an infrastructure error, a sensor between pokes). Run after CLEAR_SQL / MARK_SQL
 * locked the instance rows, so no claim or end can open or close one in between.
 */
export const INTERRUPT_SQL = `
WITH tried AS (
  UPDATE task_tries t SET state = 'interrupted', ended_at = clock_timestamp(), error = $2,
    duration_ms = (extract(epoch FROM clock_timestamp() - t.started_at) * 1000)::int
  WHERE t.task_instance_id = ANY($1::bigint[]) AND t.state = 'running'
  RETURNING 1
), attempted AS (
  UPDATE task_attempts a SET state = 'interrupted', ended_at = clock_timestamp(), error = $2
  WHERE a.task_instance_id = ANY($1::bigint[]) AND a.state = 'running'
  RETURNING 1
)
SELECT (SELECT count(*) FROM tried)::int AS tries, (SELECT count(*) FROM attempted)::int AS attempts`;
