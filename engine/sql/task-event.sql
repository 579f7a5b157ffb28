/*
 * trib_task_event(instance, try, event, error): records a task's success/failure/retry in the
 * callback outbox when its task (or, for retries, its DAG) has callbacks for that event. Unique
 * by key: recording twice is a no-op. Runs in the caller's transaction.
 */
CREATE OR REPLACE FUNCTION trib_task_event(p_instance bigint, p_try int, p_event text, p_error text) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  INSERT INTO callback_events (key, dag_id, run_id, task_id, event, payload)
  SELECT 'task:' || ti.run_id || ':' || ti.task_id || ':' || ti.map_index || ':' || p_try || ':' || p_event,
    r.dag_id, ti.run_id, ti.task_id, p_event,
    jsonb_build_object('mapIndex', ti.map_index, 'tryNumber', p_try,
      'state', CASE p_event WHEN 'failure' THEN 'failed' WHEN 'retry' THEN 'up_for_retry' ELSE 'success' END,
      'error', p_error, 'logicalDate', trib_iso(r.logical_date))
  FROM task_instances ti
  JOIN dag_runs r ON r.id = ti.run_id
  JOIN dag_tasks dt ON dt.dag_id = r.dag_id AND dt.task_id = ti.task_id
  WHERE ti.id = p_instance AND p_event = ANY(dt.callback_events)
  ON CONFLICT (key) DO NOTHING;
END
$$;
