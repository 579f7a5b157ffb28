/**
 * Durable file effects. A handler's "rename temp → final, content sha256 H" (ctx.renameAfterCommit)
 * is recorded in the try's transaction (recordRename), so its `file_effects` row exists exactly
 * when the try's writes committed. completeEffect does it — renamed, or found already in place —
 * and ends the row, in a transaction holding a lock on the final path, so a worker and the
 * sweeper, or two effects on one file, never interleave; a newer effect on the same final file
 * supersedes an older one, whose temp file is removed, never renamed over the newer file. The
 * sweeper completes what a dead worker or a failed rename left pending (completePendingEffects);
 * after a COMMIT whose outcome is unknown, settleUncertain asks the database which effects
 * committed. The file-system half is engine/file-moves.ts.
 */
import path from 'node:path';
import type pg from 'pg';
import type { Logger } from 'pino';
import { withTransaction } from '../db/client.ts';
import { describeError } from './errors.ts';
import { fileNames, placeFile, removeTemp } from './file-moves.ts';
import { saveTaskLogs } from './task-store.ts';
import type { FileRename } from './types.ts';

/** The advisory lock class of file effects: (FILE_EFFECT_LOCK, hashtext(final_path)), held by its transaction. */
export const FILE_EFFECT_LOCK = 0x74726665;

export type EffectState = 'pending' | 'done' | 'superseded' | 'lost';

export interface EffectOwner {
  /** NULL for a task run outside the engine (`trib run-task`, a test's runTask). */
  taskInstanceId: number | null;
  tryNumber: number;
  /** The roots the paths are confined to, now and when the effect is completed. */
  dataRoots: readonly string[];
}

export interface RecordedEffect extends FileRename, EffectOwner {
  id: number;
}

/** $1 instance, $2 try, $3 temp path, $4 final path, $5 sha256, $6 data roots → the new effect's id. */
const RECORD_SQL = `INSERT INTO file_effects (task_instance_id, try_number, temp_path, final_path, sha256, data_roots)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`;

/** $1 final path: waits for the path's lock (held until COMMIT). */
const LOCK_SQL = `SELECT pg_advisory_xact_lock(${FILE_EFFECT_LOCK}, hashtext($1))`;

/** $1 final path → locked: takes the path's lock if free (held until COMMIT). */
const TRY_LOCK_SQL = `SELECT pg_try_advisory_xact_lock(${FILE_EFFECT_LOCK}, hashtext($1)) AS locked`;

/** $1 id → its state and last error, and whether a newer effect names the same final file (read after the lock). */
const STATE_SQL = `SELECT e.state, e.error, EXISTS (SELECT 1 FROM file_effects n WHERE n.final_path = e.final_path AND n.id > e.id) AS superseded
FROM file_effects e WHERE e.id = $1`;

/** $1 id, $2 state, $3 error: ends the effect, or keeps it pending with its error. */
const END_SQL = `UPDATE file_effects SET state = $2::text, error = $3, done_at = CASE WHEN $2::text = 'pending' THEN NULL ELSE now() END
WHERE id = $1`;

/** $1 grace ms → pending effects recorded before it, oldest first, at most 100 a sweep (file_effects_pending). */
const PENDING_SQL = `SELECT id, task_instance_id, try_number, temp_path, final_path, sha256, data_roots FROM file_effects
WHERE state = 'pending' AND created_at < now() - make_interval(secs => $1::float8 / 1000) ORDER BY created_at LIMIT 100`;

/** $1 ids → those whose rows exist (their transaction committed). */
const EXISTING_SQL = 'SELECT id FROM file_effects WHERE id = ANY($1::bigint[])';

/**
 * Records the rename inside the caller's transaction (ARGUMENT_INVALID for a temp file not named
 * for its final one), with the data roots made absolute: any process may complete it.
 */
export async function recordRename(client: pg.PoolClient, owner: EffectOwner, file: FileRename): Promise<RecordedEffect> {
  fileNames(file);
  const { tempPath, finalPath, sha256 } = file;
  const dataRoots = owner.dataRoots.map((root) => path.resolve(root));
  const { rows } = await client.query<{ id: number }>(RECORD_SQL, [owner.taskInstanceId, owner.tryNumber, tempPath, finalPath, sha256, dataRoots]);
  return { ...owner, dataRoots, tempPath, finalPath, sha256, id: Number(rows[0].id) };
}

/**
 * Completes one effect in a transaction of its own holding its final path's lock: the worker waits
 * for the lock, the sweeper skips a locked one ('busy'). Returns the effect's state after it, or
 * 'gone' when it has no row (its transaction never committed). A failure keeps it pending with its
 * error; a new error, a lost file and a sweeper's repair are logged once, also in the task's log.
 */
export async function completeEffect(pool: pg.Pool, effect: RecordedEffect, log: Logger, by: 'worker' | 'sweeper'): Promise<EffectState | 'busy' | 'gone'> {
  return withTransaction(pool, async (client) => {
    if (by === 'worker') await client.query(LOCK_SQL, [effect.finalPath]);
    else if (!(await client.query<{ locked: boolean }>(TRY_LOCK_SQL, [effect.finalPath])).rows[0].locked) return 'busy';
    const { rows } = await client.query<{ state: EffectState; error: string | null; superseded: boolean }>(STATE_SQL, [effect.id]);
    if (rows.length === 0) return 'gone';
    if (rows[0].state !== 'pending') return rows[0].state;
    const { state, error } = await complete(effect, rows[0].superseded);
    await client.query(END_SQL, [effect.id, state, error]);
    const note = noteOf(effect, state, error, rows[0].error, by);
    if (note) {
      const fields = { file: effect.finalPath, effect: effect.id };
      log[note.level](fields, note.message);
      if (effect.taskInstanceId !== null) await saveTaskLogs(client, effect.taskInstanceId, effect.tryNumber, [{ ...note, fields, at: new Date() }]);
    }
    return state;
  });
}

/** What to log: a new error once (not again while it stays the same), and a repair by the sweeper. */
function noteOf(effect: RecordedEffect, state: EffectState, error: string | null, previous: string | null, by: 'worker' | 'sweeper') {
  if (error !== null) return error === previous ? null : { level: 'error' as const, message: error };
  return by === 'sweeper' && state === 'done' ? { level: 'info' as const, message: `file ${effect.finalPath} put in place by the sweeper` } : null;
}

async function complete(effect: RecordedEffect, superseded: boolean): Promise<{ state: EffectState; error: string | null }> {
  try {
    if (superseded) {
      await removeTemp(effect, effect.dataRoots);
      return { state: 'superseded', error: null };
    }
    if ((await placeFile(effect, effect.dataRoots)) !== 'missing') return { state: 'done', error: null };
    return {
      state: 'lost',
      error: `file ${effect.finalPath} is lost: neither its written copy ${effect.tempPath} nor a file with its sha256 ${effect.sha256} is there; clear the task to write it again`,
    };
  } catch (err) {
    // The rename works through the folder's descriptor (/proc/self/fd/N/…): name the real folder, so
    // the same cause gives the same line at every sweep (logged once) whatever descriptor it had.
    const reason = describeError(err).replace(/\/proc\/self\/fd\/\d+\//g, `${path.dirname(effect.finalPath)}/`);
    return { state: 'pending', error: `file ${effect.finalPath} is not in place: ${reason}; the sweeper tries again` };
  }
}

/** The sweeper's part: completes the effects pending for more than graceMs (a worker died, a rename failed). Returns how many ended. */
export async function completePendingEffects(pool: pg.Pool, log: Logger, graceMs: number): Promise<number> {
  const { rows } = await pool.query<{
    id: number; task_instance_id: number | null; try_number: number; temp_path: string; final_path: string; sha256: string; data_roots: string[];
  }>(PENDING_SQL, [graceMs]);
  let ended = 0;
  for (const r of rows) {
    const effect: RecordedEffect = {
      id: Number(r.id), taskInstanceId: r.task_instance_id === null ? null : Number(r.task_instance_id), tryNumber: r.try_number,
      tempPath: r.temp_path, finalPath: r.final_path, sha256: r.sha256, dataRoots: r.data_roots,
    };
    const state = await completeEffect(pool, effect, log, 'sweeper');
    if (state !== 'pending' && state !== 'busy') ended += 1;
  }
  return ended;
}

/**
 * After a COMMIT whose outcome is unknown (the connection failed during it), called once the try's
 * end was recorded on a fresh connection (which waited for any commit still in flight on the
 * task's row): an effect whose row exists committed and is completed; one without a row did not,
 * and its temp file is removed. When the database cannot say, the temp files stay (logged).
 */
export async function settleUncertain(pool: pg.Pool, effects: readonly RecordedEffect[], log: Logger): Promise<void> {
  if (effects.length === 0) return;
  let committed: Set<number>;
  try {
    const { rows } = await pool.query<{ id: number }>(EXISTING_SQL, [effects.map((e) => e.id)]);
    committed = new Set(rows.map((r) => Number(r.id)));
  } catch (err) {
    const files = effects.map((e) => e.tempPath);
    log.error({ files, err: describeError(err) }, 'the COMMIT of this try may have landed and the database cannot say: its temp files stay (the sweeper completes those that committed)');
    return;
  }
  for (const effect of effects) {
    try {
      if (committed.has(effect.id)) await completeEffect(pool, effect, log, 'worker');
      else await removeTemp(effect, effect.dataRoots);
    } catch (err) {
      log.error({ file: effect.finalPath, err: describeError(err) }, 'a file effect could not be settled after an uncertain COMMIT');
    }
  }
}

/**
 * Waits (up to `timeoutMs`) until no file of the run's tasks is still on its way into place: a run
 * ends in the COMMIT of its last task, and that task's renames follow the COMMIT. An effect that
 * failed (pending with an error, or lost) is not waited for: the run's warnings say it.
 */
export async function effectsSettled(pool: pg.Pool, runId: number, timeoutMs = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 25))) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM file_effects e JOIN task_instances ti ON ti.id = e.task_instance_id
       WHERE ti.run_id = $1 AND e.state = 'pending' AND e.error IS NULL`, [runId]);
    if (rows[0].n === 0) return true;
    if (Date.now() > deadline) return false;
  }
}
