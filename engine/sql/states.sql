/*
 * The task-instance states, listed once. trib_open_states() → the states of an instance not over
 * yet (its run cannot end while one is open); trib_active_states() → those with a job in flight
 * or due (the sweeper's and the stuck-run repair's concern); trib_over_states() → the final ones.
 * IMMUTABLE: each folds to a constant when a statement is planned, so a partial index on
 * `state IN (…)` still serves `state = ANY(trib_open_states())`.
 */
CREATE OR REPLACE FUNCTION trib_open_states() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['none', 'queued', 'running', 'up_for_retry', 'mapped']
$$;

CREATE OR REPLACE FUNCTION trib_active_states() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['queued', 'running', 'up_for_retry']
$$;

CREATE OR REPLACE FUNCTION trib_over_states() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['success', 'failed', 'upstream_failed', 'skipped']
$$;
