CREATE TABLE "task_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_instance_id" bigint NOT NULL,
	"try_number" integer NOT NULL,
	"attempt" integer NOT NULL,
	"state" text NOT NULL,
	"worker" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"error" text,
	"error_code" text
);
--> statement-breakpoint
ALTER TABLE "task_instances" ADD COLUMN "attempt" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "task_instances" ADD COLUMN "lost_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "task_instances" ADD COLUMN "infra_retries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "task_instances" ADD COLUMN "lease_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "task_instances" ADD COLUMN "not_before" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "task_attempts" ADD CONSTRAINT "task_attempts_task_instance_id_task_instances_id_fk" FOREIGN KEY ("task_instance_id") REFERENCES "public"."task_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "task_attempts_instance_try_attempt" ON "task_attempts" USING btree ("task_instance_id","try_number","attempt");