/**
 * The seller-health report query (`report` kind): one row per seller with credit utilisation,
 * payment reliability, lead conversion, wallet trend, a 0–100 health score and a risk level;
 * amounts in USD at the rate effective on each row's date (migration 0006_multi_currency).
 */
import { qualified as q, SCHEMA } from './model.ts';

/** `amount` in USD with the latest rate effective on `day` (NULL when there is none); USD stays as is. */
function usd(amount: string, currency: string, day: string): string {
  return `CASE WHEN ${currency} = 'USD' THEN ${amount} ELSE ${amount} * (
      SELECT r.rate FROM ${SCHEMA}.exchange_rates AS r
      WHERE r.from_currency = ${currency} AND r.to_currency = 'USD' AND r.effective_date <= ${day}
      ORDER BY r.effective_date DESC LIMIT 1) END`;
}

/** Weeks the wallet trend averages over, ending at the run's day. */
const WALLET_TREND_WEEKS = 12;

/**
 * Seller health, one row per seller: credit utilisation = open (non-cancelled) credit / limit,
 * payment reliability = paid / open credits, lead conversion = confirmed / all leads, wallet trend =
 * mean weekly net change over the last 12 weeks (withdrawals negative). Health score 0–100 =
 * 35·(1 − min(utilisation, 1)) + 35·reliability (0.5 with no credits) + 20·conversion + 10·wallet
 * (1 rising, 0.5 flat, 0 falling). Risk: high when over the limit or score < 40, medium when
 * utilisation > 0.8 or score < 65, else low. Amounts without a rate are counted, not guessed.
 */
export const SELLER_HEALTH_QUERY = `
WITH run_day AS (SELECT (:logical_date::timestamptz AT TIME ZONE 'UTC')::date AS day),
credit AS (
  SELECT seller_id, count(*) FILTER (WHERE status <> 'Cancelled') AS open_credits,
         count(*) FILTER (WHERE status = 'Paid') AS paid_credits,
         coalesce(sum(amount_usd) FILTER (WHERE status <> 'Cancelled'), 0) AS open_credit_usd,
         count(*) FILTER (WHERE amount_usd IS NULL) AS without_rate
  FROM (SELECT c.*, ${usd('c.amount', 'c.currency', 'c.issue_date::date')} AS amount_usd FROM ${q('credits')} AS c) AS c
  GROUP BY seller_id
),
lead AS (
  SELECT seller_id, count(*) AS leads, count(*) FILTER (WHERE status = 'Confirmed') AS confirmed FROM ${q('leads')} GROUP BY seller_id
),
wallet AS (
  SELECT seller_id, sum(change_usd) / ${WALLET_TREND_WEEKS} AS weekly_change_usd, count(*) FILTER (WHERE change_usd IS NULL) AS without_rate
  FROM (SELECT w.seller_id, ${usd("CASE WHEN w.type = 'withdrawal' THEN -abs(w.amount) ELSE w.amount END", 'w.currency', 'w.created_at')} AS change_usd
        FROM ${q('wallet_transactions')} AS w, run_day
        WHERE w.created_at > run_day.day - ${WALLET_TREND_WEEKS * 7} AND w.created_at <= run_day.day) AS w
  GROUP BY seller_id
),
measures AS (
  SELECT s.seller_id, s.seller_name, s.market, s.limit_usd, coalesce(c.open_credit_usd, 0) AS open_credit_usd,
         coalesce(c.open_credit_usd, 0) / nullif(s.limit_usd, 0) AS utilisation,
         c.paid_credits::numeric / nullif(c.open_credits, 0) AS reliability,
         l.confirmed::numeric / nullif(l.leads, 0) AS conversion,
         w.weekly_change_usd, coalesce(c.open_credits, 0) AS open_credits, coalesce(l.leads, 0) AS leads,
         (s.limit_usd IS NULL)::int + coalesce(c.without_rate, 0) + coalesce(w.without_rate, 0) AS amounts_without_rate
  FROM (SELECT s.*, ${usd('s.credit_limit', 's.currency', 's.signup_date')} AS limit_usd FROM ${q('sellers')} AS s) AS s
  LEFT JOIN credit AS c ON c.seller_id = s.seller_id
  LEFT JOIN lead AS l ON l.seller_id = s.seller_id
  LEFT JOIN wallet AS w ON w.seller_id = s.seller_id
),
scored AS (
  SELECT *, round(35 * (1 - least(coalesce(utilisation, 1), 1)) + 35 * coalesce(reliability, 0.5) + 20 * coalesce(conversion, 0)
                  + 10 * CASE WHEN weekly_change_usd > 0 THEN 1 WHEN weekly_change_usd < 0 THEN 0 ELSE 0.5 END)::int AS health_score
  FROM measures
)
SELECT seller_id, seller_name, market, round(limit_usd, 2) AS credit_limit_usd, round(open_credit_usd, 2) AS open_credit_usd,
       round(utilisation, 4) AS credit_utilisation, open_credits, round(reliability, 4) AS payment_reliability,
       leads, round(conversion, 4) AS lead_conversion, round(coalesce(weekly_change_usd, 0), 2) AS wallet_trend_usd,
       CASE WHEN utilisation > 1 OR health_score < 40 THEN 'high'
            WHEN utilisation > 0.8 OR health_score < 65 THEN 'medium' ELSE 'low' END AS risk_level,
       health_score, amounts_without_rate
FROM scored
ORDER BY seller_id`;
