CREATE SCHEMA "audit";
--> statement-breakpoint
CREATE TABLE "load_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"target" text NOT NULL,
	"partition" text DEFAULT '' NOT NULL,
	"sha256" text NOT NULL,
	"path" text NOT NULL,
	"bytes" bigint NOT NULL,
	"run_id" text NOT NULL,
	"task_id" text NOT NULL,
	"map_index" integer DEFAULT -1 NOT NULL,
	"rows_read" bigint NOT NULL,
	"rows_loaded" bigint NOT NULL,
	"rows_rejected" bigint NOT NULL,
	"rows_deduplicated" bigint NOT NULL,
	"coercions" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"loaded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "load_ledger_target_partition_sha" ON "load_ledger" USING btree ("target","partition","sha256");--> statement-breakpoint
CREATE INDEX "load_ledger_run" ON "load_ledger" USING btree ("run_id","task_id");