ALTER TABLE "dag_runs" ADD COLUMN "dag_version" text;--> statement-breakpoint
ALTER TABLE "dags" ADD COLUMN "version" text;--> statement-breakpoint
ALTER TABLE "task_attempts" ADD COLUMN "dag_version" text;