ALTER TABLE "task_attempts" ADD COLUMN "backend_pid" integer;--> statement-breakpoint
ALTER TABLE "task_attempts" ADD COLUMN "fenced_at" timestamp with time zone;