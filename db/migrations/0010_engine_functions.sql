CREATE TABLE "dag_tasks" (
	"dag_id" text NOT NULL,
	"task_id" text NOT NULL,
	"ord" integer NOT NULL,
	"upstream" text[] NOT NULL,
	"downstream" text[] NOT NULL,
	"trigger_rule" text NOT NULL,
	"queue" text NOT NULL,
	"priority" integer,
	"retries" integer NOT NULL,
	"map_over_task" text,
	"map_over_path" text,
	"callback_events" text[] NOT NULL,
	CONSTRAINT "dag_tasks_dag_id_task_id_pk" PRIMARY KEY("dag_id","task_id")
);
--> statement-breakpoint
ALTER TABLE "dags" ADD COLUMN "max_active_runs" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "dags" ADD COLUMN "run_callbacks" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "dag_tasks" ADD CONSTRAINT "dag_tasks_dag_id_dags_dag_id_fk" FOREIGN KEY ("dag_id") REFERENCES "public"."dags"("dag_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_instances_unfinished" ON "task_instances" USING btree ("run_id","task_id","map_index") WHERE state IN ('none', 'queued', 'running', 'up_for_retry', 'mapped');--> statement-breakpoint
ALTER TABLE "task_instances" DROP COLUMN "map_pending";--> statement-breakpoint
/*
 * The engine's state machine as server-side functions (like BullMQ's Lua scripts and
 * graphile-worker's get_job/complete_job): each transition of a try is one round trip.
 * Lock order, everywhere: the run row first, then task rows. A parent task's end takes its run
 * FOR NO KEY UPDATE before touching any task row; clear/mark take it FOR UPDATE. A mapped child's
 * end takes no run or parent lock at all: it only ends its own row, and after its COMMIT
 * trib_settle_map finds whether it was the last child (no hot row held across a transaction).
 * Task states that are over: success, failed, upstream_failed, skipped.
 * Every statement is written as lookups by key, so each function runs with generic plans
 * (plan_cache_mode): no statement is planned again on every call, whatever the statistics say.
 */

/* trib_iso(t) → t as JavaScript's toISOString() writes it (event keys and payloads). */
CREATE FUNCTION trib_iso(p_at timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
--> statement-breakpoint
/*
 * trib_decide(rule, upstream states) → 'wait' | 'run' | 'skip' | 'upstream_failed'.
 * Airflow's trigger rules, the same decisions as engine/trigger-rules.ts `decide` (one shared
 * table of cases tests both). An unknown rule waits.
 */
CREATE FUNCTION trib_decide(p_rule text, p_states text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN cardinality(p_states) = 0 THEN 'run'
    WHEN p_rule = 'all_success' THEN CASE
      WHEN p_states && ARRAY['failed', 'upstream_failed'] THEN 'upstream_failed'
      WHEN p_states && ARRAY['skipped'] THEN 'skip'
      WHEN p_states <@ ARRAY['success'] THEN 'run'
      ELSE 'wait' END
    WHEN p_rule = 'all_done' THEN CASE
      WHEN p_states <@ ARRAY['success', 'failed', 'upstream_failed', 'skipped'] THEN 'run'
      ELSE 'wait' END
    WHEN p_rule = 'one_failed' THEN CASE
      WHEN p_states && ARRAY['failed', 'upstream_failed'] THEN 'run'
      WHEN p_states <@ ARRAY['success', 'failed', 'upstream_failed', 'skipped'] THEN 'skip'
      ELSE 'wait' END
    WHEN p_rule = 'none_failed' THEN CASE
      WHEN p_states && ARRAY['failed', 'upstream_failed'] THEN 'upstream_failed'
      WHEN p_states <@ ARRAY['success', 'failed', 'upstream_failed', 'skipped'] THEN 'run'
      ELSE 'wait' END
    ELSE 'wait'
  END
$$;
--> statement-breakpoint
/* trib_run_outcome(leaf states) → 'running' | 'failed' | 'success' (Airflow's leaf rule, as runOutcome). */
CREATE FUNCTION trib_run_outcome(p_leaf_states text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN NOT (p_leaf_states <@ ARRAY['success', 'failed', 'upstream_failed', 'skipped']) THEN 'running'
    WHEN p_leaf_states && ARRAY['failed', 'upstream_failed'] THEN 'failed'
    ELSE 'success'
  END
$$;
--> statement-breakpoint
/* trib_pick_path(value, 'a.b') → value.a.b, or NULL as soon as a step is not an object. */
CREATE FUNCTION trib_pick_path(p_value jsonb, p_path text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_current jsonb := p_value;
  v_key text;
BEGIN
  FOREACH v_key IN ARRAY string_to_array(p_path, '.') LOOP
    IF v_current IS NULL OR jsonb_typeof(v_current) <> 'object' THEN RETURN NULL; END IF;
    v_current := v_current -> v_key;
  END LOOP;
  RETURN v_current;
END
$$;
--> statement-breakpoint
/* trib_job(...) → one job to enqueue after COMMIT, as engine/advance.ts reads it. */
CREATE FUNCTION trib_job(p_queue text, p_job_id text, p_instance bigint, p_try int, p_priority int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
    'queue', p_queue, 'jobId', p_job_id, 'instanceId', p_instance, 'tryNumber', p_try, 'priority', p_priority))
$$;
--> statement-breakpoint
/*
 * trib_task_event(instance, try, event, error): records a task's success/failure/retry in the
 * callback outbox when its task (or, for retries, its DAG) has callbacks for that event. Unique
 * by key: recording twice is a no-op. Runs in the caller's transaction.
 */
CREATE FUNCTION trib_task_event(p_instance bigint, p_try int, p_event text, p_error text) RETURNS void
LANGUAGE sql SET plan_cache_mode = force_generic_plan AS $$
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
  ON CONFLICT (key) DO NOTHING
$$;
--> statement-breakpoint
/*
 * trib_expand(run, parent instance, task) → jobs: a mapped task whose upstreams allow it to run
 * reads its list from the upstream result (map_over_task, map_over_path) and inserts one queued
 * child per item; a re-run (cleared task) reuses the rows with the next try number, so job ids
 * stay fresh. Not a list → the parent fails (MAP_SOURCE_INVALID); an empty list → it succeeds
 * with []. Returns {jobs, ended} (ended: the parent is over, its downstream may move).
 */
CREATE FUNCTION trib_expand(p_run bigint, p_parent bigint, p_task text, p_dag text) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  t dag_tasks%ROWTYPE;
  v_list jsonb;
  v_jobs jsonb;
BEGIN
  SELECT * INTO t FROM dag_tasks WHERE dag_id = p_dag AND task_id = p_task;
  SELECT result INTO v_list FROM task_instances WHERE run_id = p_run AND task_id = t.map_over_task AND map_index = -1;
  IF t.map_over_path IS NOT NULL THEN v_list := trib_pick_path(v_list, t.map_over_path); END IF;
  IF v_list IS NULL OR jsonb_typeof(v_list) <> 'array' THEN
    UPDATE task_instances SET state = 'failed', ended_at = clock_timestamp(), updated_at = now(),
      error = 'MAP_SOURCE_INVALID: ' || t.map_over_task || coalesce('.' || t.map_over_path, '') || ' is not a list'
    WHERE id = p_parent;
    RETURN jsonb_build_object('jobs', '[]'::jsonb, 'ended', true);
  END IF;
  IF jsonb_array_length(v_list) = 0 THEN
    UPDATE task_instances SET state = 'success', result = '[]', ended_at = clock_timestamp(), updated_at = now() WHERE id = p_parent;
    RETURN jsonb_build_object('jobs', '[]'::jsonb, 'ended', true);
  END IF;
  DELETE FROM task_instances WHERE run_id = p_run AND task_id = p_task AND map_index >= jsonb_array_length(v_list);
  WITH inserted AS (
    INSERT INTO task_instances AS ti (run_id, task_id, map_index, state, try_number, max_tries, queue, map_item, job_id, queued_at)
    SELECT p_run, p_task, i - 1, 'queued', 1, t.retries + 1, t.queue, item, 'r' || p_run || '-' || p_task || '-m' || (i - 1) || '-t1', now()
    FROM jsonb_array_elements(v_list) WITH ORDINALITY AS e(item, i)
    ON CONFLICT (run_id, task_id, map_index) DO UPDATE SET state = 'queued', try_number = ti.try_number + 1,
      max_tries = ti.try_number + t.retries + 1, map_item = EXCLUDED.map_item, result = NULL, error = NULL, error_code = NULL,
      pokes = 0, attempt = 0, lost_attempts = 0, infra_retries = 0, lease_until = NULL, not_before = NULL, ended_at = NULL,
      job_id = 'r' || p_run || '-' || p_task || '-m' || ti.map_index || '-t' || (ti.try_number + 1), queued_at = now(), updated_at = now()
    RETURNING ti.id, ti.map_index, ti.try_number, ti.job_id
  )
  SELECT jsonb_agg(trib_job(t.queue, inserted.job_id, inserted.id, inserted.try_number, t.priority) ORDER BY inserted.map_index)
  INTO v_jobs FROM inserted;
  UPDATE task_instances SET state = 'mapped', updated_at = now() WHERE id = p_parent;
  RETURN jsonb_build_object('jobs', v_jobs, 'ended', false);
END
$$;
--> statement-breakpoint
/*
 * trib_close_mapped(parent instance): every child is over — the parent succeeds when all of them
 * succeeded or were skipped, else fails; its result is their results in map order.
 */
CREATE FUNCTION trib_close_mapped(p_parent bigint) RETURNS void LANGUAGE sql SET plan_cache_mode = force_generic_plan AS $$
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
  FROM kids WHERE id = p_parent
$$;
