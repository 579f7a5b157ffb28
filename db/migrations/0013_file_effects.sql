-- Durable after-commit file effects (engine/file-effects.ts): a rename recorded in the try's transaction, completed after COMMIT or by the sweeper. An engine table (moved to the engine's schema by migrate); task_instances is named unqualified so the search_path finds it wherever it lives.
CREATE TABLE "file_effects" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_instance_id" bigint,
	"try_number" integer NOT NULL,
	"temp_path" text NOT NULL,
	"final_path" text NOT NULL,
	"sha256" text NOT NULL,
	"data_roots" text[] NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"done_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "file_effects" ADD CONSTRAINT "file_effects_task_instance_id_task_instances_id_fk" FOREIGN KEY ("task_instance_id") REFERENCES "task_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "file_effects_pending" ON "file_effects" USING btree ("created_at") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "file_effects_final_path" ON "file_effects" USING btree ("final_path","id");--> statement-breakpoint
CREATE INDEX "file_effects_task_instance" ON "file_effects" USING btree ("task_instance_id");