/*
 * trib_task_log(run, task) → every log line of a task in a run (all map indexes and tries), each
 * with its order key (at, rank, line id): oldest first is ORDER BY at, rank, line_id.
 * - rank 2: the lines stored in task_logs (the handler's, the engine's warnings and errors);
 * - rank 0 and 1, `try started`: derived, not stored — at each try's first claim (task_tries;
 *   a sensor's later pokes continue its try) and at each later attempt's claim (task_attempts,
 *   attempt > 1: a delivery after a lost worker or an infrastructure error);
 * - rank 3, `try succeeded`: derived from the attempt that succeeded, at its end (its COMMIT's
 *   statement, after every line the handler logged).
 * The two lines every try would store cost the fan-out ~10% of its throughput (two rows, two index
 * entries and a foreign-key check each, per child); the try and attempt rows already hold when.
 * Times are cut to milliseconds, as stored lines' (a JavaScript Date) are: a handler's first line
 * is never ordered before its try's start. A read, not a transition: plain SQL, which Postgres
 * inlines into the caller's query (its ORDER BY and LIMIT), so it takes no plan_cache_mode.
 */
CREATE OR REPLACE FUNCTION trib_task_log(p_run bigint, p_task text)
RETURNS TABLE (map_index int, try_number int, level text, message text, fields jsonb, at timestamptz, rank int, line_id bigint)
LANGUAGE sql STABLE AS $$
  WITH ti AS (
    SELECT ti.id, ti.map_index, r.dag_id FROM task_instances ti JOIN dag_runs r ON r.id = ti.run_id
    WHERE ti.run_id = p_run AND ti.task_id = p_task
  ), attempts AS (
    SELECT ti.map_index, ti.dag_id, a.* FROM ti JOIN task_attempts a ON a.task_instance_id = ti.id
  )
  SELECT ti.map_index, l.try_number, l.level, l.message, l.fields, l.at, 2, l.id
  FROM ti JOIN task_logs l ON l.task_instance_id = ti.id
  UNION ALL
  SELECT ti.map_index, t.try_number, 'info', 'try started',
    jsonb_build_object('dag_id', ti.dag_id, 'run_id', p_run, 'task_id', p_task, 'map_index', ti.map_index, 'try', t.try_number, 'attempt', 1),
    date_trunc('milliseconds', t.started_at), 0, t.id
  FROM ti JOIN task_tries t ON t.task_instance_id = ti.id
  WHERE t.started_at IS NOT NULL
  UNION ALL
  SELECT a.map_index, a.try_number, 'info', 'try started',
    jsonb_build_object('dag_id', a.dag_id, 'run_id', p_run, 'task_id', p_task, 'map_index', a.map_index, 'try', a.try_number, 'attempt', a.attempt),
    date_trunc('milliseconds', a.started_at), 1, a.id
  FROM attempts a WHERE a.attempt > 1
  UNION ALL
  SELECT a.map_index, a.try_number, 'info', 'try succeeded',
    jsonb_build_object('dag_id', a.dag_id, 'run_id', p_run, 'task_id', p_task, 'map_index', a.map_index, 'try', a.try_number, 'attempt', a.attempt),
    date_trunc('milliseconds', a.ended_at), 3, a.id
  FROM attempts a WHERE a.state = 'success'
$$;
