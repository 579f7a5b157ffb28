CREATE TABLE "dashboard_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"idle_expires_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"address" text NOT NULL,
	"user_agent" text NOT NULL,
	"credential" text NOT NULL,
	"csrf_token" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "dashboard_sessions_created" ON "dashboard_sessions" USING btree ("created_at");