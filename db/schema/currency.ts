/**
 * Multi-currency for the credit platform (migration 0006_multi_currency, down migration in
 * db/migrations/down/): the known currencies and exchange rates per currency pair per effective
 * date. An amount dated D converts with the latest rate whose effective_date <= D; X→X is 1.
 */
import { date, integer, numeric, primaryKey, text } from 'drizzle-orm/pg-core';
import { creditPlatformSchema } from './credit_platform.ts';

export const currencies = creditPlatformSchema.table('currencies', {
  /** ISO 4217 code, e.g. USD, AED, SAR, EGP. */
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  /** Digits after the decimal point in the currency's minor unit. */
  minorUnits: integer('minor_units').notNull().default(2),
});

export const exchangeRates = creditPlatformSchema.table(
  'exchange_rates',
  {
    fromCurrency: text('from_currency').notNull(),
    toCurrency: text('to_currency').notNull(),
    effectiveDate: date('effective_date', { mode: 'string' }).notNull(),
    /** Units of to_currency for one unit of from_currency. */
    rate: numeric('rate', { precision: 20, scale: 10 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.fromCurrency, t.toCurrency, t.effectiveDate] })],
);
