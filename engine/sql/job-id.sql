/*
 * trib_job_id(run, task, map index, try, poke, infra) → the BullMQ job id of one delivery:
 * r<run>-<task>-m<map index>-t<try>, then -p<poke> for a sensor's later poke and -i<n> for the
 * n-th engine retry after an infrastructure error. The only place job ids are made: the same
 * delivery always gets the same id, so enqueueing it twice is a no-op.
 */
CREATE OR REPLACE FUNCTION trib_job_id(p_run bigint, p_task text, p_map_index int, p_try int, p_poke int DEFAULT 0, p_infra int DEFAULT 0)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN 'r' || p_run || '-' || p_task || '-m' || p_map_index || '-t' || p_try
    || CASE WHEN p_poke > 0 THEN '-p' || p_poke ELSE '' END
    || CASE WHEN p_infra > 0 THEN '-i' || p_infra ELSE '' END;
END
$$;
