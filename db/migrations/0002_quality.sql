CREATE TABLE "check_results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text NOT NULL,
	"try_number" integer DEFAULT 1 NOT NULL,
	"check_name" text NOT NULL,
	"check_kind" text NOT NULL,
	"table_name" text NOT NULL,
	"severity" text NOT NULL,
	"rows_evaluated" bigint NOT NULL,
	"rows_failing" bigint NOT NULL,
	"outcome" text NOT NULL,
	"thresholds" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sample_keys" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"sample_rows" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"duration_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quality_scorecards" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text NOT NULL,
	"try_number" integer DEFAULT 1 NOT NULL,
	"table_name" text NOT NULL,
	"total_rows" bigint NOT NULL,
	"clean_rows" bigint NOT NULL,
	"rows_with_issues" bigint NOT NULL,
	"score" numeric(5, 2) NOT NULL,
	"checks" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconcile_mismatches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"result_id" bigint NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"key" jsonb NOT NULL,
	"left_value" text,
	"right_value" text,
	"difference" numeric,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconcile_results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text NOT NULL,
	"try_number" integer DEFAULT 1 NOT NULL,
	"name" text NOT NULL,
	"left_source" text NOT NULL,
	"right_source" text NOT NULL,
	"severity" text NOT NULL,
	"keys_total" bigint NOT NULL,
	"matched" bigint NOT NULL,
	"mismatched" bigint NOT NULL,
	"left_only" bigint NOT NULL,
	"right_only" bigint NOT NULL,
	"outcome" text NOT NULL,
	"tolerance" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"thresholds" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"duration_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text NOT NULL,
	"path" text NOT NULL,
	"file_name" text NOT NULL,
	"logical_date" timestamp with time zone NOT NULL,
	"row_count" bigint NOT NULL,
	"bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"columns" jsonb NOT NULL,
	"rows" jsonb NOT NULL,
	"rows_truncated" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reconcile_mismatches" ADD CONSTRAINT "reconcile_mismatches_result_id_reconcile_results_id_fk" FOREIGN KEY ("result_id") REFERENCES "public"."reconcile_results"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "check_results_run_task" ON "check_results" USING btree ("run_id","task_id");--> statement-breakpoint
CREATE INDEX "check_results_check_history" ON "check_results" USING btree ("check_name","created_at");--> statement-breakpoint
CREATE INDEX "quality_scorecards_run_task" ON "quality_scorecards" USING btree ("run_id","task_id");--> statement-breakpoint
CREATE INDEX "quality_scorecards_table" ON "quality_scorecards" USING btree ("table_name","created_at");--> statement-breakpoint
CREATE INDEX "reconcile_mismatches_result" ON "reconcile_mismatches" USING btree ("result_id");--> statement-breakpoint
CREATE INDEX "reconcile_mismatches_run_task" ON "reconcile_mismatches" USING btree ("run_id","task_id");--> statement-breakpoint
CREATE INDEX "reconcile_results_run_task" ON "reconcile_results" USING btree ("run_id","task_id");--> statement-breakpoint
CREATE INDEX "reconcile_results_history" ON "reconcile_results" USING btree ("name","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "reports_run_task_path" ON "reports" USING btree ("run_id","task_id","path");--> statement-breakpoint
CREATE INDEX "reports_task_latest" ON "reports" USING btree ("task_id","created_at");