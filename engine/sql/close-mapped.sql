/*
 * trib_close_mapped(parent instance): every child is over — the parent succeeds when all of them
 * succeeded or were skipped, else fails; its result is their results in map order.
 */
CREATE OR REPLACE FUNCTION trib_close_mapped(p_parent bigint) RETURNS void LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  WITH parent AS (SELECT run_id, task_id FROM task_instances WHERE id = p_parent),
  kids AS (
    SELECT coalesce(jsonb_agg(k.result ORDER BY k.map_index), '[]'::jsonb) AS results,
      coalesce(bool_and(k.state IN ('success', 'skipped')), true) AS ok,
      count(*) FILTER (WHERE k.state = 'failed') AS failed, count(*) AS total
    FROM task_instances k, parent WHERE k.run_id = parent.run_id AND k.task_id = parent.task_id AND k.map_index >= 0
  )
  UPDATE task_instances SET state = CASE WHEN kids.ok THEN 'success' ELSE 'failed' END, result = kids.results,
    error = CASE WHEN kids.ok THEN error ELSE kids.failed || ' of ' || kids.total || ' mapped instances failed' END,
    ended_at = clock_timestamp(), updated_at = now()
  FROM kids WHERE id = p_parent;
END
$$;
