/**
 * Durable after-commit file effects (engine/file-effects.ts): "rename this temp file into place,
 * its content has sha256 H", recorded in the try's transaction — so it exists exactly when the try's
 * writes committed — and completed after COMMIT by the worker, or by the sweeper when the worker
 * died or the rename failed. An engine table.
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { taskInstances } from './engine.ts';

export const fileEffects = pgTable(
  'file_effects',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The task instance whose try recorded it; NULL for a task run outside the engine (`trib run-task`). */
    taskInstanceId: bigint('task_instance_id', { mode: 'number' }).references(() => taskInstances.id, { onDelete: 'cascade' }),
    tryNumber: integer('try_number').notNull(),
    /** The written file, `.<final name>.<12 hex>.tmp` in the final file's folder (real paths). */
    tempPath: text('temp_path').notNull(),
    finalPath: text('final_path').notNull(),
    /** The content's sha256 (hex): what the final file holds once the effect is done. */
    sha256: text('sha256').notNull(),
    /** The data roots the paths were confined to when recorded; checked again when completing. */
    dataRoots: text('data_roots').array().notNull(),
    /**
     * pending → done (the final file holds sha256), superseded (a newer effect names the same
     * final file: its temp file was removed), or lost (neither the temp file nor a final file
     * with sha256 exists: only a new try can write it).
     */
    state: text('state').notNull().default('pending'),
    /** Why the last attempt to complete it failed (pending), or why it is lost. */
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** When it left `pending`. */
    doneAt: timestamp('done_at', { withTimezone: true }),
  },
  (t) => [
    index('file_effects_pending').on(t.createdAt).where(sql`state = 'pending'`),
    index('file_effects_final_path').on(t.finalPath, t.id),
    index('file_effects_task_instance').on(t.taskInstanceId),
  ],
);
