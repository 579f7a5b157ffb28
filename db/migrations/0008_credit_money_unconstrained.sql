-- W2 money columns numeric(18,4) → unconstrained numeric: real extracts' float noise and 5–6 decimals
-- load exactly as written (issue 8). Widening only: every stored value stays as it is.
ALTER TABLE "credit_platform"."credits" ALTER COLUMN "amount" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoice_items" ALTER COLUMN "amount" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoices" ALTER COLUMN "sales_amount" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoices" ALTER COLUMN "fees" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoices" ALTER COLUMN "credits_due" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoices" ALTER COLUMN "from_balance" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoices" ALTER COLUMN "total" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."leads" ALTER COLUMN "amount" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."sellers" ALTER COLUMN "credit_limit" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."sellers" ALTER COLUMN "initial_wallet" SET DATA TYPE numeric;--> statement-breakpoint
ALTER TABLE "credit_platform"."wallet_transactions" ALTER COLUMN "amount" SET DATA TYPE numeric;