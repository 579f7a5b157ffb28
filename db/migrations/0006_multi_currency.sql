CREATE TABLE "credit_platform"."currencies" (
	"code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"minor_units" integer DEFAULT 2 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."exchange_rates" (
	"from_currency" text NOT NULL,
	"to_currency" text NOT NULL,
	"effective_date" date NOT NULL,
	"rate" numeric(20, 10) NOT NULL,
	CONSTRAINT "exchange_rates_from_currency_to_currency_effective_date_pk" PRIMARY KEY("from_currency","to_currency","effective_date")
);
--> statement-breakpoint
ALTER TABLE "credit_platform"."credits" ADD COLUMN "currency" text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoice_items" ADD COLUMN "currency" text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_platform"."invoices" ADD COLUMN "currency" text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_platform"."leads" ADD COLUMN "currency" text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_platform"."sellers" ADD COLUMN "currency" text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_platform"."wallet_transactions" ADD COLUMN "currency" text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
INSERT INTO "credit_platform"."currencies" ("code", "name", "minor_units") VALUES ('USD', 'US dollar', 2);
