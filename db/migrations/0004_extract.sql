CREATE TABLE "extract_watermarks" (
	"dag_id" text NOT NULL,
	"task_id" text NOT NULL,
	"column" text NOT NULL,
	"value" text NOT NULL,
	"run_id" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "extract_watermarks_dag_id_task_id_pk" PRIMARY KEY("dag_id","task_id")
);
