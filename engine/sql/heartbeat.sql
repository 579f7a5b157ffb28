/*
 * trib_heartbeat(instance ids, worker, lease ms) → how many leases were renewed: the running tries
 * among `instance ids` that this worker still holds get `lease ms` more. A try another worker took
 * over (its lease had expired) is not touched.
 */
CREATE OR REPLACE FUNCTION trib_heartbeat(p_ids bigint[], p_worker text, p_lease_ms float8)
RETURNS int LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_renewed int;
BEGIN
  WITH renewed AS (
    UPDATE task_instances SET lease_until = now() + make_interval(secs => p_lease_ms / 1000)
    WHERE id = ANY(p_ids) AND worker = p_worker AND state = 'running'
    RETURNING 1
  )
  SELECT count(*)::int INTO v_renewed FROM renewed;
  RETURN v_renewed;
END
$$;
