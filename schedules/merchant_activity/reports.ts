/**
 * The five W3 report queries. Each reads the events loaded so far up to the end of the run's day
 * (UTC), so a run's reports come out the same whenever it runs or re-runs, and the latest day's
 * cover all history. SUCCESS only where WORKLOADS.md says so: top merchants, monthly actives and
 * the KYC funnel; product adoption counts merchants with an event of any status; failure rate is
 * FAILED / (SUCCESS + FAILED). Ties sort by name in byte order (COLLATE "C").
 */
import { KYC_STAGES, PRODUCTS } from './events.ts';

/** `(1, 'A'), (2, 'B')`: a numbered VALUES list of the fixed upper-case names in events.ts. */
const numberedNames = (names: readonly string[]) => names.map((name, i) => `(${i + 1}, '${name}')`).join(', ');

/** How many merchants the top-merchants report lists (the first is the top merchant). */
const TOP = 5;

const EVENTS_AS_OF_RUN_DAY = `WITH events AS (
  SELECT merchant_id, event_timestamp, product, event_type, amount, status
  FROM merchant_events
  WHERE event_timestamp < (date_trunc('day', CAST(:logical_date AS timestamptz) AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC'
)`;

/** Merchants by total SUCCESS amount, highest first. */
export const TOP_MERCHANTS = `${EVENTS_AS_OF_RUN_DAY}
SELECT row_number() OVER (ORDER BY sum(amount) DESC, merchant_id COLLATE "C")::int AS rank,
  merchant_id,
  sum(amount) AS total_success_amount
FROM events
WHERE status = 'SUCCESS'
GROUP BY merchant_id
HAVING sum(amount) > 0
ORDER BY rank
LIMIT ${TOP}`;

/** Distinct merchants with a SUCCESS event per calendar month (UTC). */
export const MONTHLY_ACTIVE_MERCHANTS = `${EVENTS_AS_OF_RUN_DAY}
SELECT to_char(month, 'YYYY-MM') AS month, count(*)::int AS active_merchants
FROM (
  SELECT DISTINCT date_trunc('month', event_timestamp AT TIME ZONE 'UTC') AS month, merchant_id
  FROM events
  WHERE status = 'SUCCESS'
) AS active
GROUP BY 1
ORDER BY 1`;

/** Distinct merchants with any event of each product, most first. */
export const PRODUCT_ADOPTION = `${EVENTS_AS_OF_RUN_DAY}
SELECT product, count(*)::int AS merchants
FROM (SELECT DISTINCT product, merchant_id FROM events) AS adopted
GROUP BY product
ORDER BY merchants DESC, product COLLATE "C"`;

/** Distinct merchants with a SUCCESS event of each KYC stage, in funnel order. */
export const KYC_FUNNEL = `${EVENTS_AS_OF_RUN_DAY}
SELECT s.stage, count(DISTINCT e.merchant_id)::int AS merchants
FROM (VALUES ${numberedNames(KYC_STAGES)}) AS s(step, stage)
LEFT JOIN events e ON e.product = 'KYC' AND e.event_type = s.stage AND e.status = 'SUCCESS'
GROUP BY s.step, s.stage
ORDER BY s.step`;

/** Per product: FAILED / (SUCCESS + FAILED) to 4 decimals (half up), PENDING shown but left out; highest first. */
export const FAILURE_RATE_BY_PRODUCT = `${EVENTS_AS_OF_RUN_DAY},
counts AS (
  SELECT p.product,
    count(*) FILTER (WHERE e.status = 'SUCCESS')::int AS success,
    count(*) FILTER (WHERE e.status = 'FAILED')::int AS failed,
    count(*) FILTER (WHERE e.status = 'PENDING')::int AS pending
  FROM (VALUES ${numberedNames(PRODUCTS)}) AS p(n, product)
  LEFT JOIN events e ON e.product = p.product
  GROUP BY p.product
)
SELECT product, success, failed, pending,
  coalesce(round(failed::numeric / nullif(success + failed, 0), 4), 0.0000) AS failure_rate
FROM counts
ORDER BY coalesce(failed::float8 / nullif(success + failed, 0), 0) DESC, product COLLATE "C"`;
