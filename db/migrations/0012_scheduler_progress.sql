-- The schedule's progress on the DAG row (engine/scheduler.ts): the newest logical date the scheduler created a run for. NULL on existing rows: the scheduler falls back to the DAG's newest scheduled run until its next pass stores it.
ALTER TABLE "dags" ADD COLUMN "last_scheduled_at" timestamp with time zone;
