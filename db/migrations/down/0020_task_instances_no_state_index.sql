-- Down migration of 0020_task_instances_no_state_index: the index on task_instances.state again.
CREATE INDEX IF NOT EXISTS "task_instances_state" ON "task_instances" USING btree ("state");
