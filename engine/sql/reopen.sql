/*
 * trib_reopen(run) → jobs: after an operator's clear or mark, under the run's row lock. A run that
 * had ended goes back to 'running' (a queued run stays queued: it starts when a slot is free,
 * maxActiveRuns), then trib_advance moves whatever the change made ready, or ends it again.
 */
CREATE OR REPLACE FUNCTION trib_reopen(p_run bigint) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  UPDATE dag_runs SET state = 'running', ended_at = NULL WHERE id = p_run AND state <> 'queued';
  RETURN trib_advance(p_run, NULL, true) -> 'jobs';
END
$$;
