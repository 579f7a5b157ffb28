-- Down migration of 0006_multi_currency: drops the currency columns and the currencies /
-- exchange_rates tables; every row of the ten tables stays. Refuses (nothing changes) while any
-- amount is in another currency than USD, since dropping the column would lose which one it was.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM "credit_platform"."sellers" WHERE "currency" <> 'USD')
    OR EXISTS (SELECT 1 FROM "credit_platform"."credits" WHERE "currency" <> 'USD')
    OR EXISTS (SELECT 1 FROM "credit_platform"."leads" WHERE "currency" <> 'USD')
    OR EXISTS (SELECT 1 FROM "credit_platform"."invoices" WHERE "currency" <> 'USD')
    OR EXISTS (SELECT 1 FROM "credit_platform"."invoice_items" WHERE "currency" <> 'USD')
    OR EXISTS (SELECT 1 FROM "credit_platform"."wallet_transactions" WHERE "currency" <> 'USD') THEN
    RAISE EXCEPTION 'credit_platform holds amounts in currencies other than USD; convert them to USD before rolling back 0006_multi_currency';
  END IF;
END $$;
ALTER TABLE "credit_platform"."credits" DROP COLUMN "currency";
ALTER TABLE "credit_platform"."invoice_items" DROP COLUMN "currency";
ALTER TABLE "credit_platform"."invoices" DROP COLUMN "currency";
ALTER TABLE "credit_platform"."leads" DROP COLUMN "currency";
ALTER TABLE "credit_platform"."sellers" DROP COLUMN "currency";
ALTER TABLE "credit_platform"."wallet_transactions" DROP COLUMN "currency";
DROP TABLE "credit_platform"."exchange_rates";
DROP TABLE "credit_platform"."currencies";
