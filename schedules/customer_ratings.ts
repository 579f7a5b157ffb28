/**
 * W1 customer_ratings: every agency drops a full snapshot `<agency>_YYYYMMDD.csv` each day (run
 * param `filePattern`, e.g. `{agency}.csv` for undated files; `{agency}` names the agency). Wait for
 * the day's files (until a deadline, then go on with what arrived), load each one into its agency's
 * rows of one consolidated table (refused rows → audit.customer_ratings_rejects), then write
 * Customer_Rating_Aggregate_Report_YYYYMMDD.csv with one row per agency loaded by the run.
 */
import { z } from 'zod';
import { defineDag } from '../engine/dag.ts';

/** The agencies that send a file every day; the sensor is satisfied once this many have landed. */
const AGENCIES_PER_DAY = 3;

/**
 * Per agency this run loaded: valid-row figures from the table (which now holds exactly that
 * agency's file); refused rows from the file ledger entry of each file the run's loads report
 * (`:upstream_load` = their results) — also when a load found its file already loaded and skipped
 * it. Percent = invalid / (valid + invalid), two decimals.
 */
const REPORT_QUERY = `
WITH run_files AS (
  SELECT f.file->>'partition' AS agency, f.file->>'sha256' AS sha256
  FROM jsonb_array_elements(CAST(:upstream_load AS jsonb)) AS item(result)
  CROSS JOIN LATERAL jsonb_array_elements(item.result->'files') AS f(file)
),
files AS (
  SELECT r.agency, sum(l.rows_loaded) AS valid, sum(l.rows_rejected) AS invalid
  FROM run_files r
  JOIN load_ledger l ON l.target = 'customer_ratings' AND l.partition = r.agency AND l.sha256 = r.sha256
  GROUP BY r.agency
),
valid_rows AS (
  SELECT agency,
    count(customer_number) AS customers,
    sum(customer_rating) AS rating_sum,
    count(*) FILTER (WHERE customer_status = 'high-value') AS high_value
  FROM customer_ratings
  WHERE agency IN (SELECT agency FROM files)
  GROUP BY agency
)
SELECT f.agency,
  coalesce(v.customers, 0)::int AS count_customer_number,
  coalesce(v.rating_sum, 0)::bigint AS sum_customer_rating,
  coalesce(v.high_value, 0)::int AS high_value_count,
  f.invalid::int AS invalid_customer_number_count,
  coalesce(round(100.0 * f.invalid / nullif(f.valid + f.invalid, 0), 2), 0.00) AS invalid_customer_number_percent
FROM files f
LEFT JOIN valid_rows v USING (agency)
ORDER BY f.agency`;

export default defineDag({
  id: 'customer_ratings',
  description: 'W1: daily agency snapshots → one customer_ratings table (per-agency replace) → aggregate report',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  catchup: true,
  // The report reads the table, which holds only each agency's latest snapshot: one day at a time.
  maxActiveRuns: 1,
  optionDefaults: { load: { rejectLimit: { warn: { ratio: 0.01 } } } }, // more than 1% of a file refused: the run shows it
  params: {
    dataDir: z.string().default('.tributary/data/customer_ratings').describe('Folder the agencies drop their files in (inside the data roots)'),
    reportDir: z.string().default('.tributary/reports/customer_ratings').describe('Folder the aggregate report is written to'),
    filePattern: z.string().default('{agency}_{yyyymmdd}.csv')
      .describe('File name of one agency\'s snapshot; `{agency}` names the agency, e.g. `{agency}.csv` for undated files'),
  },
  tasks: {
    files: {
      kind: 'sensor',
      options: {
        dir: '{params.dataDir}',
        filePattern: '{params.filePattern}',
        partitionBy: 'agency',
        minFiles: AGENCIES_PER_DAY,
        stableForMs: 2_000, // a file still being written keeps changing: wait until its size and mtime hold
        pokeIntervalMs: 60_000,
        timeoutMs: 4 * 3600_000, // until 10:00 UTC
        onTimeout: 'continue', // then load the agencies that did send their file
      },
    },
    load: {
      kind: 'load',
      upstream: ['files'],
      mapOver: { task: 'files', path: 'files' }, // one load per file found
      retries: 2,
      options: {
        source: { fromUpstream: { task: 'files' } },
        target: 'customer_ratings',
        mode: 'replace-partition',
        // Each file's agency comes from its name (the sensor's `{agency}` part); the load job
        // still wants a fallback value, which a pattern with `{agency}` never leaves in use.
        partition: { column: 'agency', value: 'unknown' },
        key: ['agency', 'customer_number'],
        columns: [
          { name: 'customer_number', type: 'integer', min: 1, unique: 'reject' },
          { name: 'customer_rating', type: 'integer', min: 0 },
          { name: 'customer_rating_limit', type: 'integer', min: 0 },
          { name: 'customer_status', type: 'text', minLength: 1, maxLength: 25 },
        ],
      },
    },
    report: {
      kind: 'report',
      upstream: ['load'],
      options: {
        query: REPORT_QUERY,
        outputDir: '{params.reportDir}',
        fileName: 'Customer_Rating_Aggregate_Report_{yyyymmdd}.csv',
      },
    },
  },
});
