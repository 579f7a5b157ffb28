/**
 * The credit platform's quality report queries (`report` kind, one CSV per run day): the
 * scorecard per table, and every check and reconciliation with its failing count and sample keys.
 * What did not run in the run says so (`not_run`), never a clean score.
 */
import { CREDIT_CHECKS } from './checks.ts';
import { CREDIT_RECONCILIATIONS, FAIL_ON } from './reconciliations.ts';
import { LATEST_FILES_SQL } from './ledger.ts';
import { CREDIT_TABLES, qualified as q, SCHEMA } from './model.ts';

const RUN = ':run_id::bigint';
const STATUSES = ['mismatched', 'left_only', 'right_only'] as const;

/**
 * Per table: the file it holds now (rows read, refused at load), its rows now, and its score. A
 * refused row is a row with issues: rows scored = the table's rows + the held file's refused rows;
 * rows with issues = rows failing a counted check in this run's validate scorecard (its own count
 * of this run's refused rows taken out) + the held file's refused rows. `status` is `not_run` when
 * no check on the table ran in this run: then no score is given (never 100% from no evidence).
 */
export const SCORECARD_QUERY = `
WITH tables (ord, table_name, total_rows) AS (VALUES
  ${CREDIT_TABLES.map((t, i) => `(${i + 1}, '${t}', (SELECT count(*) FROM ${q(t)}))`).join(',\n  ')}
),
files AS (
  ${LATEST_FILES_SQL}
),
refused_this_run AS (
  SELECT target, sum(rows_rejected) AS rows_refused FROM load_ledger WHERE run_id = (${RUN})::text GROUP BY target
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
),
scored AS (
  SELECT t.ord, t.table_name, t.total_rows, f.rows_read AS file_rows, coalesce(f.rows_rejected, 0) AS rows_refused_at_load,
         k.checks, k.checks_failing,
         coalesce(c.rows_with_issues - coalesce(r.rows_refused, 0), 0) + coalesce(f.rows_rejected, 0) AS rows_with_issues,
         t.total_rows + coalesce(f.rows_rejected, 0) AS rows_scored
  FROM tables AS t
  LEFT JOIN files AS f ON f.table_name = t.table_name
  LEFT JOIN refused_this_run AS r ON r.target = '${SCHEMA}.' || t.table_name
  LEFT JOIN cards AS c ON c.table_name = '${SCHEMA}.' || t.table_name
  LEFT JOIN checks AS k ON k.table_name = '${SCHEMA}.' || t.table_name
)
SELECT table_name AS "table", CASE WHEN checks IS NULL THEN 'not_run' ELSE 'scored' END AS status,
       file_rows, rows_refused_at_load, total_rows, rows_scored,
       CASE WHEN checks IS NOT NULL THEN rows_scored - rows_with_issues END AS clean_rows,
       CASE WHEN checks IS NOT NULL THEN rows_with_issues END AS rows_with_issues,
       CASE WHEN checks IS NULL THEN NULL WHEN rows_scored = 0 THEN 100.00
            ELSE round(100.0 * (rows_scored - rows_with_issues) / rows_scored, 2) END AS score_percent,
       coalesce(checks, 0) AS checks, coalesce(checks_failing, 0) AS checks_failing
FROM scored
ORDER BY ord`;

const failOnValues = Object.entries(FAIL_ON)
  .map(([name, statuses]) => `('${name}', ARRAY[${statuses.map((s) => `'${s}'`).join(', ')}])`)
  .join(', ');

const literal = (v: string) => `'${v.replaceAll("'", "''")}'`;
/** Every declared check and reconciliation: (kind, name, subject, severity). */
const declaredValues = [
  ...CREDIT_CHECKS.checks.map((c) => ['check', c.name, c.table, c.severity ?? 'error']),
  ...CREDIT_RECONCILIATIONS.reconciliations.map((r) => ['reconciliation', r.name, null, r.severity ?? 'error']),
].map((row) => `(${row.map((v) => (v === null ? 'NULL' : literal(v))).join(', ')})`).join(',\n  ');

/**
 * Every declared check and reconciliation with what this run found (latest try): severity,
 * outcome, failing count, sample keys. One that did not run in this run (its task failed before
 * it, or was skipped) has outcome `not_run` and no counts.
 */
export const CHECKS_QUERY = `
WITH declared (kind, name, subject, severity) AS (VALUES
  ${declaredValues}
),
checks AS (
  SELECT DISTINCT ON (check_name) * FROM check_results WHERE run_id = ${RUN} ORDER BY check_name, created_at DESC, id DESC
),
recs AS (
  SELECT DISTINCT ON (name) * FROM reconcile_results WHERE run_id = ${RUN} ORDER BY name, created_at DESC, id DESC
),
fail_on (name, statuses) AS (VALUES ${failOnValues}),
ran AS (
  SELECT 'check' AS kind, check_name AS name, table_name AS subject, severity, outcome,
         rows_evaluated AS evaluated, rows_failing AS failing, sample_keys::text AS sample_keys
  FROM checks
  UNION ALL
  SELECT 'reconciliation', r.name, r.left_source, r.severity, r.outcome, r.keys_total,
         ${STATUSES.map((s) => `CASE WHEN '${s}' = ANY(f.statuses) THEN r.${s} ELSE 0 END`).join(' + ')},
         (SELECT coalesce(jsonb_agg(m.key ORDER BY m.id), '[]'::jsonb) FROM reconcile_mismatches AS m
          WHERE m.result_id = r.id AND m.status = ANY(f.statuses))::text
  FROM recs AS r JOIN fail_on AS f USING (name)
)
SELECT kind, name, coalesce(r.subject, d.subject) AS subject, coalesce(r.severity, d.severity) AS severity,
       coalesce(r.outcome, 'not_run') AS outcome, r.evaluated, r.failing, r.sample_keys
FROM declared AS d FULL JOIN ran AS r USING (kind, name)
ORDER BY kind, name`;
