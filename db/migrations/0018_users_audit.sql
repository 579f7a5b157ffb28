CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"role" text,
	"via" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"params" jsonb,
	"outcome" text NOT NULL,
	"status" integer,
	"address" text,
	"detail" text
);
--> statement-breakpoint
CREATE TABLE "dashboard_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"user_name" text NOT NULL,
	"label" text DEFAULT '' NOT NULL,
	"secret_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "dashboard_users" (
	"name" text PRIMARY KEY NOT NULL,
	"role" text NOT NULL,
	"password_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dashboard_users_role" CHECK ("dashboard_users"."role" IN ('viewer', 'operator', 'admin'))
);
--> statement-breakpoint
ALTER TABLE "dag_runs" ADD COLUMN "triggered_by" text;--> statement-breakpoint
ALTER TABLE "dashboard_sessions" ADD COLUMN "user_name" text;--> statement-breakpoint
ALTER TABLE "dashboard_tokens" ADD CONSTRAINT "dashboard_tokens_user_name_dashboard_users_name_fk" FOREIGN KEY ("user_name") REFERENCES "public"."dashboard_users"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_actor" ON "audit_events" USING btree ("actor","id");--> statement-breakpoint
CREATE INDEX "audit_events_action" ON "audit_events" USING btree ("action","id");--> statement-breakpoint
CREATE INDEX "dashboard_tokens_user" ON "dashboard_tokens" USING btree ("user_name");--> statement-breakpoint
ALTER TABLE "dashboard_sessions" ADD CONSTRAINT "dashboard_sessions_user_name_dashboard_users_name_fk" FOREIGN KEY ("user_name") REFERENCES "public"."dashboard_users"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dashboard_sessions_user" ON "dashboard_sessions" USING btree ("user_name");