ALTER TABLE "dags" ADD COLUMN "paused_by" text;--> statement-breakpoint
ALTER TABLE "dags" ADD COLUMN "run_fails_on" text DEFAULT 'leaves' NOT NULL;