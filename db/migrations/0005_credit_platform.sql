CREATE SCHEMA "credit_platform";
--> statement-breakpoint
CREATE TABLE "credit_platform"."account_managers" (
	"am_id" integer PRIMARY KEY NOT NULL,
	"am_name" text NOT NULL,
	"am_email" text NOT NULL,
	"sam_id" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."credit_chat" (
	"credit_id" integer NOT NULL,
	"user_id" integer NOT NULL,
	"role" text NOT NULL,
	"message_time" timestamp(6) NOT NULL,
	"message" text NOT NULL,
	CONSTRAINT "credit_chat_credit_id_user_id_role_message_time_pk" PRIMARY KEY("credit_id","user_id","role","message_time")
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."credit_histories" (
	"credit_id" integer NOT NULL,
	"status" text NOT NULL,
	"changed_at" timestamp(6) NOT NULL,
	CONSTRAINT "credit_histories_credit_id_status_changed_at_pk" PRIMARY KEY("credit_id","status","changed_at")
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."credits" (
	"credit_id" integer PRIMARY KEY NOT NULL,
	"seller_id" integer NOT NULL,
	"amount" numeric(18, 4) NOT NULL,
	"issue_date" timestamp(6) NOT NULL,
	"due_date" timestamp(6) NOT NULL,
	"status" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."invoice_items" (
	"invoice_id" text NOT NULL,
	"item_type" text NOT NULL,
	"amount" numeric(18, 4) NOT NULL,
	CONSTRAINT "invoice_items_invoice_id_item_type_pk" PRIMARY KEY("invoice_id","item_type")
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."invoices" (
	"invoice_id" text PRIMARY KEY NOT NULL,
	"seller_id" integer NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"sales_amount" numeric(18, 4) NOT NULL,
	"fees" numeric(18, 4) NOT NULL,
	"credits_due" numeric(18, 4) NOT NULL,
	"from_balance" numeric(18, 4) NOT NULL,
	"total" numeric(18, 4) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."leads" (
	"lead_id" integer PRIMARY KEY NOT NULL,
	"seller_id" integer NOT NULL,
	"created_at" timestamp(6) NOT NULL,
	"amount" numeric(18, 4) NOT NULL,
	"status" text NOT NULL,
	"shipping_status" text NOT NULL,
	"tracking_number" text
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."sellers" (
	"seller_id" integer PRIMARY KEY NOT NULL,
	"seller_name" text NOT NULL,
	"market" text NOT NULL,
	"signup_date" date NOT NULL,
	"credit_limit" numeric(18, 4) NOT NULL,
	"avg_weekly_leads" integer NOT NULL,
	"initial_wallet" numeric(18, 4) NOT NULL,
	"am_id" integer NOT NULL,
	"sam_id" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."senior_account_managers" (
	"sam_id" integer PRIMARY KEY NOT NULL,
	"sam_name" text NOT NULL,
	"sam_email" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "credit_platform"."wallet_transactions" (
	"transaction_id" text PRIMARY KEY NOT NULL,
	"seller_id" integer NOT NULL,
	"type" text NOT NULL,
	"amount" numeric(18, 4) NOT NULL,
	"created_at" date NOT NULL
);
