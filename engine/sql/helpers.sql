/* trib_iso(t) → t as JavaScript's toISOString() writes it (event keys and payloads). */
CREATE OR REPLACE FUNCTION trib_iso(p_at timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

/* trib_pick_path(value, 'a.b') → value.a.b, or NULL as soon as a step is not an object. */
CREATE OR REPLACE FUNCTION trib_pick_path(p_value jsonb, p_path text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
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

/* trib_job(...) → one job to enqueue after COMMIT, as engine/transitions.ts toPendingJobs reads it. */
CREATE OR REPLACE FUNCTION trib_job(p_queue text, p_job_id text, p_instance bigint, p_try int, p_priority int) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN jsonb_strip_nulls(jsonb_build_object(
    'queue', p_queue, 'jobId', p_job_id, 'instanceId', p_instance, 'tryNumber', p_try, 'priority', p_priority));
END
$$;

/* trib_map_slices() → how many slices a mapped task's children run in (engine/sql/slice.sql). */
CREATE OR REPLACE FUNCTION trib_map_slices() RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT 64
$$;
