CREATE TABLE "callback_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"dag_id" text NOT NULL,
	"run_id" bigint,
	"task_id" text DEFAULT '' NOT NULL,
	"event" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"claimed_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "callback_events_key" UNIQUE("key")
);
--> statement-breakpoint
CREATE INDEX "callback_events_pending" ON "callback_events" USING btree ("created_at") WHERE state = 'pending';