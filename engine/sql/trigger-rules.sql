/*
 * trib_decide(rule, upstream states) → 'wait' | 'run' | 'skip' | 'upstream_failed'.
 * Airflow's trigger rules; test/support/trigger-rules.ts holds the reference table of cases the
 * tests check this against. An unknown rule waits.
 */
CREATE OR REPLACE FUNCTION trib_decide(p_rule text, p_states text[]) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN CASE
    WHEN cardinality(p_states) = 0 THEN 'run'
    WHEN p_rule = 'all_success' THEN CASE
      WHEN p_states && ARRAY['failed', 'upstream_failed'] THEN 'upstream_failed'
      WHEN p_states && ARRAY['skipped'] THEN 'skip'
      WHEN p_states <@ ARRAY['success'] THEN 'run'
      ELSE 'wait' END
    WHEN p_rule = 'all_done' THEN CASE
      WHEN p_states <@ trib_over_states() THEN 'run'
      ELSE 'wait' END
    WHEN p_rule = 'one_failed' THEN CASE
      WHEN p_states && ARRAY['failed', 'upstream_failed'] THEN 'run'
      WHEN p_states <@ trib_over_states() THEN 'skip'
      ELSE 'wait' END
    WHEN p_rule = 'none_failed' THEN CASE
      WHEN p_states && ARRAY['failed', 'upstream_failed'] THEN 'upstream_failed'
      WHEN p_states <@ trib_over_states() THEN 'run'
      ELSE 'wait' END
    ELSE 'wait'
  END;
END
$$;

/* trib_run_outcome(leaf states) → 'running' | 'failed' | 'success' (Airflow's leaf rule, as runOutcome). */
CREATE OR REPLACE FUNCTION trib_run_outcome(p_leaf_states text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN NOT (p_leaf_states <@ trib_over_states()) THEN 'running'
    WHEN p_leaf_states && ARRAY['failed', 'upstream_failed'] THEN 'failed'
    ELSE 'success'
  END
$$;
