CREATE TABLE "dag_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"dag_id" text NOT NULL,
	"logical_date" timestamp with time zone NOT NULL,
	"interval_end" timestamp with time zone NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"run_type" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "dags" (
	"dag_id" text PRIMARY KEY NOT NULL,
	"file" text NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"schedule" text,
	"timezone" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_instances" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"task_id" text NOT NULL,
	"map_index" integer DEFAULT -1 NOT NULL,
	"state" text DEFAULT 'none' NOT NULL,
	"try_number" integer DEFAULT 0 NOT NULL,
	"max_tries" integer DEFAULT 1 NOT NULL,
	"job_id" text,
	"queue" text NOT NULL,
	"map_item" jsonb,
	"result" jsonb,
	"resume_state" jsonb,
	"pokes" integer DEFAULT 0 NOT NULL,
	"error" text,
	"error_code" text,
	"worker" text,
	"queued_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"duration_ms" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_instance_id" bigint NOT NULL,
	"try_number" integer NOT NULL,
	"level" text NOT NULL,
	"message" text NOT NULL,
	"fields" jsonb,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "task_tries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_instance_id" bigint NOT NULL,
	"try_number" integer NOT NULL,
	"state" text NOT NULL,
	"worker" text,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"duration_ms" integer,
	"error" text,
	"error_code" text
);
--> statement-breakpoint
ALTER TABLE "task_instances" ADD CONSTRAINT "task_instances_run_id_dag_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."dag_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_logs" ADD CONSTRAINT "task_logs_task_instance_id_task_instances_id_fk" FOREIGN KEY ("task_instance_id") REFERENCES "public"."task_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_tries" ADD CONSTRAINT "task_tries_task_instance_id_task_instances_id_fk" FOREIGN KEY ("task_instance_id") REFERENCES "public"."task_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dag_runs_dag_logical_date" ON "dag_runs" USING btree ("dag_id","logical_date");--> statement-breakpoint
CREATE INDEX "dag_runs_state" ON "dag_runs" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "task_instances_run_task_map" ON "task_instances" USING btree ("run_id","task_id","map_index");--> statement-breakpoint
CREATE INDEX "task_instances_state" ON "task_instances" USING btree ("state");--> statement-breakpoint
CREATE INDEX "task_logs_instance" ON "task_logs" USING btree ("task_instance_id","try_number");--> statement-breakpoint
CREATE UNIQUE INDEX "task_tries_instance_try" ON "task_tries" USING btree ("task_instance_id","try_number");