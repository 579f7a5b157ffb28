CREATE TABLE "dag_tasks" (
	"dag_id" text NOT NULL,
	"task_id" text NOT NULL,
	"ord" integer NOT NULL,
	"upstream" text[] NOT NULL,
	"downstream" text[] NOT NULL,
	"trigger_rule" text NOT NULL,
	"queue" text NOT NULL,
	"priority" integer,
	"retries" integer NOT NULL,
	"map_over_task" text,
	"map_over_path" text,
	"callback_events" text[] NOT NULL,
	CONSTRAINT "dag_tasks_dag_id_task_id_pk" PRIMARY KEY("dag_id","task_id")
);
--> statement-breakpoint
ALTER TABLE "dags" ADD COLUMN "max_active_runs" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "dags" ADD COLUMN "run_callbacks" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "dag_tasks" ADD CONSTRAINT "dag_tasks_dag_id_dags_dag_id_fk" FOREIGN KEY ("dag_id") REFERENCES "public"."dags"("dag_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_instances_unfinished" ON "task_instances" USING btree ("run_id","task_id","map_index") WHERE state IN ('none', 'queued', 'running', 'up_for_retry', 'mapped');--> statement-breakpoint
ALTER TABLE "task_instances" DROP COLUMN "map_pending";
--> statement-breakpoint
-- The engine's functions live in engine/sql/ (re-applied at every migrate); this migration keeps only DDL.
