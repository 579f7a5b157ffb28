/**
 * Expected answers of the five W3 reports, aggregated while the generator streams: per-merchant
 * arrays and bitsets (merchants ≤ ~10k), so memory stays bounded however many rows are written.
 * Only loaded events are added: clean rows and coerced `1,250.00` amounts, first occurrence only.
 */
import { fixed, ratio4 } from './format.ts';

export const W3_PRODUCTS = ['POS', 'AIRTIME', 'BILLS', 'CARD_PAYMENT', 'SAVINGS', 'MONIEBOOK', 'KYC'] as const;
export type W3Product = (typeof W3_PRODUCTS)[number];
export const W3_KYC_STAGES = ['DOCUMENT_SUBMITTED', 'VERIFICATION_COMPLETED', 'TIER_UPGRADE'] as const;
export const W3_STATUSES = ['SUCCESS', 'FAILED', 'PENDING'] as const;
export type W3Status = (typeof W3_STATUSES)[number];

export interface W3Reports {
  top_merchant_by_success_amount: { merchant_id: string; total_success_amount: string };
  /** The five highest, amount desc then merchant_id asc (ties broken the same way). */
  top_merchants_by_success_amount: Array<{ merchant_id: string; total_success_amount: string }>;
  /** Distinct merchants with a SUCCESS event per calendar month (UTC), month asc. */
  monthly_active_merchants: Array<{ month: string; active_merchants: number }>;
  /** Distinct merchants with any loaded event (any status) per product, most first, then product asc. */
  product_adoption: Array<{ product: string; merchants: number }>;
  /** Distinct merchants with a SUCCESS event of each KYC stage, in funnel order. */
  kyc_funnel: Array<{ stage: string; merchants: number }>;
  /** FAILED / (SUCCESS + FAILED), PENDING left out; highest first, then product asc. */
  failure_rate_by_product: Array<{ product: string; success: number; failed: number; pending: number; failure_rate: string }>;
}

/** Byte order (like Postgres COLLATE "C"), not locale order. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class W3ReportAggregator {
  private readonly successCents: Float64Array;
  private readonly months = new Map<string, Uint8Array>();
  private readonly products = new Map<string, Uint8Array>();
  private readonly stages = new Map<string, Uint8Array>();
  private readonly statusCounts = new Map<string, { SUCCESS: number; FAILED: number; PENDING: number }>();

  constructor(private readonly merchantIds: readonly string[]) {
    this.successCents = new Float64Array(merchantIds.length);
    for (const p of W3_PRODUCTS) {
      this.products.set(p, new Uint8Array(merchantIds.length));
      this.statusCounts.set(p, { SUCCESS: 0, FAILED: 0, PENDING: 0 });
    }
    for (const s of W3_KYC_STAGES) this.stages.set(s, new Uint8Array(merchantIds.length));
  }

  /** One loaded event. `month` is 'YYYY-MM' of its timestamp (UTC). */
  add(merchant: number, product: W3Product, eventType: string, status: W3Status, cents: number, month: string): void {
    this.products.get(product)![merchant] = 1;
    this.statusCounts.get(product)![status]++;
    if (status !== 'SUCCESS') return;
    this.successCents[merchant] += cents;
    let seen = this.months.get(month);
    if (!seen) this.months.set(month, (seen = new Uint8Array(this.merchantIds.length)));
    seen[merchant] = 1;
    const stage = this.stages.get(eventType);
    if (product === 'KYC' && stage) stage[merchant] = 1;
  }

  result(): W3Reports {
    const count = (bits: Uint8Array): number => bits.reduce((n, b) => n + b, 0);
    const top = [...this.successCents.keys()]
      .filter((m) => this.successCents[m] > 0)
      .sort((a, b) => this.successCents[b] - this.successCents[a] || compareText(this.merchantIds[a], this.merchantIds[b]))
      .slice(0, 5)
      .map((m) => ({ merchant_id: this.merchantIds[m], total_success_amount: fixed(this.successCents[m], 2) }));
    const rates = W3_PRODUCTS.map((product) => {
      const c = this.statusCounts.get(product)!;
      return { product, success: c.SUCCESS, failed: c.FAILED, pending: c.PENDING, failure_rate: ratio4(c.FAILED, c.SUCCESS + c.FAILED) };
    });
    // Equal fractions divide to the same double, so float order is exact here.
    const rate = (r: { failed: number; success: number }): number => (r.failed + r.success === 0 ? 0 : r.failed / (r.failed + r.success));
    rates.sort((a, b) => rate(b) - rate(a) || compareText(a.product, b.product));
    return {
      top_merchant_by_success_amount: top[0] ?? { merchant_id: '', total_success_amount: '0.00' },
      top_merchants_by_success_amount: top,
      monthly_active_merchants: [...this.months.keys()].sort().map((month) => ({ month, active_merchants: count(this.months.get(month)!) })),
      product_adoption: W3_PRODUCTS.map((product) => ({ product: product as string, merchants: count(this.products.get(product)!) }))
        .filter((p) => p.merchants > 0)
        .sort((a, b) => b.merchants - a.merchants || compareText(a.product, b.product)),
      kyc_funnel: W3_KYC_STAGES.map((stage) => ({ stage: stage as string, merchants: count(this.stages.get(stage)!) })),
      failure_rate_by_product: rates,
    };
  }
}
