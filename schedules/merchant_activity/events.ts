/**
 * The columns of a merchant activity file (WORKLOADS.md W3) as load rules: which values an event
 * may have, which event types each product has, and the one coercion allowed (thousands
 * separators in `amount`, recorded in audit.merchant_events_coercions).
 */
import type { LoadOptionsInput } from '../../jobs/load/options.ts';

export const PRODUCTS = ['POS', 'AIRTIME', 'BILLS', 'CARD_PAYMENT', 'SAVINGS', 'MONIEBOOK', 'KYC'] as const;
export type Product = (typeof PRODUCTS)[number];

/** The KYC stages in funnel order. */
export const KYC_STAGES = ['DOCUMENT_SUBMITTED', 'VERIFICATION_COMPLETED', 'TIER_UPGRADE'] as const;

export const EVENT_TYPES: Record<Product, readonly string[]> = {
  POS: ['CARD_PURCHASE', 'CASH_WITHDRAWAL', 'TRANSFER'],
  AIRTIME: ['AIRTIME_PURCHASE', 'DATA_PURCHASE'],
  BILLS: ['ELECTRICITY', 'CABLE_TV', 'INTERNET'],
  CARD_PAYMENT: ['CARD_CHARGE', 'CARD_REFUND'],
  SAVINGS: ['DEPOSIT', 'WITHDRAWAL', 'INTEREST_CREDIT'],
  MONIEBOOK: ['INVOICE_CREATED', 'INVOICE_PAID', 'INVENTORY_UPDATE'],
  KYC: KYC_STAGES,
};

const TYPES_OF = new Map(Object.entries(EVENT_TYPES).map(([product, types]) => [product, new Set(types)]));

/**
 * event_type must belong to the row's product. An unknown product passes here: the product
 * column's own rule refuses it, so the row carries one error, not two.
 */
function typeOfProduct(value: string, record: Readonly<Record<string, string>>): boolean | string {
  const types = TYPES_OF.get(record.product);
  return types === undefined || types.has(value) || `"${value}" is not a ${record.product} event type`;
}

export const EVENT_COLUMNS: LoadOptionsInput['columns'] = [
  { name: 'event_id', type: 'uuid' },
  { name: 'merchant_id', type: 'pattern', regex: '^MRC-[0-9]{6}$', maxLength: 10 },
  { name: 'event_timestamp', type: 'timestamptz' },
  { name: 'product', type: 'enum', values: [...PRODUCTS] },
  { name: 'event_type', type: 'enum', values: [...new Set(Object.values(EVENT_TYPES).flat())], check: typeOfProduct },
  { name: 'amount', type: 'numeric', precision: 14, scale: 2, min: 0, coerce: ['thousands_separator'] },
  { name: 'status', type: 'enum', values: ['SUCCESS', 'FAILED', 'PENDING'] },
  { name: 'channel', type: 'enum', values: ['POS', 'APP', 'USSD', 'WEB', 'OFFLINE'] },
  { name: 'region', type: 'text', maxLength: 64 },
  { name: 'merchant_tier', type: 'enum', values: ['STARTER', 'VERIFIED', 'PREMIUM'] },
];
