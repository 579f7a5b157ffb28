/**
 * The credit platform's quality report queries (`report` kind, one CSV per run day): the
 * scorecard per table, and every check and reconciliation with its failing count and sample keys.
 */
import { FAIL_ON } from './reconciliations.ts';
import { LATEST_FILES_SQL } from './ledger.ts';
import { CREDIT_TABLES, qualified as q, SCHEMA } from './model.ts';

const RUN = ':run_id::bigint';
const STATUSES = ['mismatched', 'left_only', 'right_only'] as const;

/**
 * Per table: the file it holds now (rows read, refused at load), its rows now, and the validate
 * scorecard of this run (rows failing at least one counted check; a table without one is clean).
 */
export const SCORECARD_QUERY = `
WITH tables (ord, table_name, total_rows) AS (VALUES
  ${CREDIT_TABLES.map((t, i) => `(${i + 1}, '${t}', (SELECT count(*) FROM ${q(t)}))`).join(',\n  ')}
),
files AS (
  ${LATEST_FILES_SQL}
),
cards AS (
  SELECT DISTINCT ON (table_name) table_name, rows_with_issues FROM quality_scorecards
  WHERE run_id = ${RUN} ORDER BY table_name, created_at DESC, id DESC
),
checks AS (
  SELECT table_name, count(*) AS checks, count(*) FILTER (WHERE rows_failing > 0) AS checks_failing
  FROM (SELECT DISTINCT ON (check_name) check_name, table_name, rows_failing FROM check_results
        WHERE run_id = ${RUN} ORDER BY check_name, created_at DESC, id DESC) AS latest
  GROUP BY table_name
)
SELECT t.table_name AS "table", f.rows_read AS file_rows, f.rows_rejected AS rows_refused_at_load, t.total_rows,
       t.total_rows - coalesce(c.rows_with_issues, 0) AS clean_rows, coalesce(c.rows_with_issues, 0) AS rows_with_issues,
       CASE WHEN t.total_rows = 0 THEN 100.00
            ELSE round(100.0 * (t.total_rows - coalesce(c.rows_with_issues, 0)) / t.total_rows, 2) END AS score_percent,
       coalesce(k.checks, 0) AS checks, coalesce(k.checks_failing, 0) AS checks_failing
FROM tables AS t
LEFT JOIN files AS f ON f.table_name = t.table_name
LEFT JOIN cards AS c ON c.table_name = '${SCHEMA}.' || t.table_name
LEFT JOIN checks AS k ON k.table_name = '${SCHEMA}.' || t.table_name
ORDER BY t.ord`;

const failOnValues = Object.entries(FAIL_ON)
  .map(([name, statuses]) => `('${name}', ARRAY[${statuses.map((s) => `'${s}'`).join(', ')}])`)
  .join(', ');

/** Every check and reconciliation of this run (latest try): severity, outcome, failing count, sample keys. */
export const CHECKS_QUERY = `
WITH checks AS (
  SELECT DISTINCT ON (check_name) * FROM check_results WHERE run_id = ${RUN} ORDER BY check_name, created_at DESC, id DESC
),
recs AS (
  SELECT DISTINCT ON (name) * FROM reconcile_results WHERE run_id = ${RUN} ORDER BY name, created_at DESC, id DESC
),
fail_on (name, statuses) AS (VALUES ${failOnValues})
SELECT 'check' AS kind, check_name AS name, table_name AS subject, severity, outcome,
       rows_evaluated AS evaluated, rows_failing AS failing, sample_keys::text AS sample_keys
FROM checks
UNION ALL
SELECT 'reconciliation', r.name, r.left_source, r.severity, r.outcome, r.keys_total,
       ${STATUSES.map((s) => `CASE WHEN '${s}' = ANY(f.statuses) THEN r.${s} ELSE 0 END`).join(' + ')},
       (SELECT coalesce(jsonb_agg(m.key ORDER BY m.id), '[]'::jsonb) FROM reconcile_mismatches AS m
        WHERE m.result_id = r.id AND m.status = ANY(f.statuses))::text
FROM recs AS r JOIN fail_on AS f USING (name)
ORDER BY kind, name`;
