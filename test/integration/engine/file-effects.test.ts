/**
 * Durable file effects (engine/file-effects.ts) under a real engine (redis) whose connections go
 * through a proxy that can cut a COMMIT (test/support/pg-cut-proxy.ts):
 * - a report's file is renamed after COMMIT and its `reports` row's sha256 is the file's;
 * - a try that loses its claim leaves no file: the rename is never before the COMMIT;
 * - a rename that fails (a folder at the final name) is a run warning and one task log line, and
 *   the sweeper puts the file in place once the folder is gone;
 * - a COMMIT that landed but whose answer was lost: the file is put in place (no rollback removed
 *   it); a COMMIT that was lost: its temp file is removed and the retry writes the file;
 * - a newer effect on the same file supersedes an older pending one; a file gone before its rename
 *   is `lost`, one already renamed is done, one changed after it was written is not renamed; a temp
 *   file not named for its final one is refused.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runWarnings } from '../../../dashboard/warnings.ts';
import { compileDag, defineDag } from '../../../engine/dag.ts';
import { Engine } from '../../../engine/engine.ts';
import { completeEffect, completePendingEffects, recordRename, type RecordedEffect } from '../../../engine/file-effects.ts';
import { tempNameFor } from '../../../engine/file-moves.ts';
import { markTask, triggerRun } from '../../../engine/operations.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';
import { PgCutProxy } from '../../support/pg-cut-proxy.ts';

const silent = pino({ level: 'silent' });
const QUERY = 'SELECT g AS n, :logical_date AS day FROM generate_series(1, 50) g';
const report = (id: string, query: string) => defineDag({
  id,
  params: { dir: z.string() },
  tasks: { report: { kind: 'report', retries: 1, retryDelayMs: 50, options: { query, outputDir: '{params.dir}', fileName: `${id}_{yyyymmdd}.csv` } } },
});
const DAGS = [report('report_ok', QUERY), report('report_slow', 'SELECT n FROM (SELECT 1 AS n, pg_sleep(0.8)) s')];

const sha256 = async (file: string) => createHash('sha256').update(await fs.readFile(file)).digest('hex');
const listing = async (dir: string) => (await fs.readdir(dir)).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

describe('durable file effects (redis)', () => {
  let database: TestDatabase;
  let proxy: PgCutProxy;
  let engine: Engine;
  let root: string;
  /** What the engine logged (warn and up), one JSON line each. */
  const logged: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await PgCutProxy.start(database.url);
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trib-file-effects-')));
    const kinds = builtinKinds();
    engine = new Engine({
      databaseUrl: proxy.url, queueBackend: 'redis', redisUrl: redisUrl(), queuePrefix: uniquePrefix('tfe'),
      dags: new Map(DAGS.map((d) => [d.id, compileDag(d, `test/${d.id}.ts`, kinds)])), kinds, dataRoots: [root],
      log: pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, done) => done(void logged.push(String(chunk))) })),
    });
    await engine.register();
    engine.startWorkers({ concurrency: () => 2, lockDurationMs: 5000 });
  });
  afterAll(async () => {
    await engine?.close();
    await proxy?.close();
    await database?.drop();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  const folder = async (name: string) => {
    const dir = path.join(root, name);
    await fs.mkdir(dir);
    return dir;
  };
  async function start(dagId: string, day: string, dir: string): Promise<number> {
    return (await triggerRun(engine.pool, engine.dispatcher, engine.dags.get(dagId)!, { date: day, params: { dir } })).runId;
  }
  const runState = async (runId: number) =>
    (await database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state;
  const ended = (runId: number) => until(() => runState(runId), (s) => s === 'success' || s === 'failed', `run ${runId} to end`);
  const effectsOf = async (runId: number) => (await database.pool.query<{ state: string; error: string | null; sha256: string }>(
    `SELECT e.state, e.error, e.sha256 FROM file_effects e JOIN task_instances ti ON ti.id = e.task_instance_id
     WHERE ti.run_id = $1 ORDER BY e.id`, [runId])).rows;
  const settled = (runId: number) => until(() => effectsOf(runId), (rows) => rows.length > 0 && rows.every((r) => r.state !== 'pending'), `run ${runId}'s file effects`);
  const reportRow = async (runId: number) =>
    (await database.pool.query<{ path: string; sha256: string }>('SELECT path, sha256 FROM reports WHERE run_id = $1', [runId])).rows;
  const taskLog = async (runId: number) => (await database.pool.query<{ level: string; message: string }>(
    `SELECT l.level, l.message FROM task_logs l JOIN task_instances ti ON ti.id = l.task_instance_id WHERE ti.run_id = $1 ORDER BY l.id`,
    [runId])).rows;

  /** The run's report row names the file on disk, and the file's sha256 is the row's (and the effect's). */
  async function expectAgreement(runId: number, dir: string, name: string) {
    const [row] = await reportRow(runId);
    expect(row.path).toBe(path.join(dir, name));
    expect(await sha256(row.path)).toBe(row.sha256);
    expect((await effectsOf(runId)).map((e) => [e.state, e.sha256])).toEqual([['done', row.sha256]]);
    expect(await listing(dir)).toEqual([name]); // no temp file left
  }

  it('renames the file after COMMIT: the reports row and the file agree', async () => {
    const dir = await folder('ok');
    const runId = await start('report_ok', '2025-06-01', dir);
    expect(await ended(runId)).toBe('success');
    await settled(runId);
    await expectAgreement(runId, dir, 'report_ok_20250601.csv');
  });

  it('a try that loses its claim leaves no file: nothing is renamed before the COMMIT', async () => {
    const dir = await folder('lost-claim');
    const dag = engine.dags.get('report_slow')!;
    const runId = await start('report_slow', '2025-06-01', dir);
    await until(async () => (await database.pool.query(`SELECT state FROM task_instances WHERE run_id = $1`, [runId])).rows[0].state, (s) => s === 'running', 'the report to run');
    await markTask(engine.pool, engine.dispatcher, dag, runId, 'report', 'success');
    // The query sleeps 0.8 s; then the try writes its file, loses its claim, rolls back and says so.
    await until(async () => logged.filter((l) => l.includes('claim lost') && l.includes(`"run_id":${runId}`)), (l) => l.length === 1, 'the claim to be lost');
    expect(await listing(dir)).toEqual([]);
    expect(await effectsOf(runId)).toEqual([]);
    expect(await reportRow(runId)).toEqual([]);
  });

  it('a rename that fails is a warning and one task log line; the sweeper puts the file in place once the cause is gone', async () => {
    const dir = await folder('blocked');
    const name = 'report_ok_20250602.csv';
    await fs.mkdir(path.join(dir, name)); // a folder at the final name: the rename fails (EISDIR)
    const runId = await start('report_ok', '2025-06-02', dir);
    expect(await ended(runId)).toBe('success');
    const [effect] = await until(() => effectsOf(runId), (rows) => rows[0]?.error != null, 'the failed rename to be recorded');
    expect(effect.state).toBe('pending');
    expect(effect.error).toContain('EISDIR');
    const warnings = await runWarnings(database.pool, [runId]);
    expect(warnings.map((w) => [w.taskId, w.message])).toEqual([['report', effect.error]]);
    expect(effect.error).toContain(path.join(dir, name));
    // The OS message names the real folder, not the descriptor the rename went through (it differs per sweep).
    expect(effect.error).not.toContain('/proc/self/fd/');
    expect(effect.error).toMatch(new RegExp(`rename '${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.report_ok_20250602`));
    await engine.dispatcher.sweep(0);
    await engine.dispatcher.sweep(0); // the same error again: logged once
    expect((await taskLog(runId)).filter((l) => l.level === 'error').map((l) => l.message)).toEqual([effect.error]);
    expect((await listing(dir)).filter((f) => f !== name)).toEqual([expect.stringMatching(/^\.report_ok_20250602\.csv\.[0-9a-f]{12}\.tmp$/)]);

    await fs.rmdir(path.join(dir, name));
    await engine.dispatcher.sweep(0);
    await expectAgreement(runId, dir, name);
    expect(await runWarnings(database.pool, [runId])).toEqual([]);
    expect((await taskLog(runId)).at(-1)).toEqual({ level: 'info', message: `file ${path.join(dir, name)} put in place by the sweeper` });
  });

  it('a COMMIT that landed but whose answer was lost: the file is put in place, not rolled back', async () => {
    const dir = await folder('landed');
    const cut = proxy.arm('trib_report_rows', 'landed');
    const runId = await start('report_ok', '2025-06-03', dir);
    await cut;
    expect(await ended(runId)).toBe('success');
    expect((await settled(runId)).map((e) => e.state)).toEqual(['done']);
    await expectAgreement(runId, dir, 'report_ok_20250603.csv');
  });

  it('a COMMIT that was lost: its temp file is removed, the retry writes the file', async () => {
    const dir = await folder('lost-commit');
    const cut = proxy.arm('trib_report_rows', 'lost');
    const runId = await start('report_ok', '2025-06-04', dir);
    await cut;
    expect(await ended(runId)).toBe('success');
    await settled(runId);
    await until(() => listing(dir), (files) => files.length === 1, 'the lost try\'s temp file to go');
    await expectAgreement(runId, dir, 'report_ok_20250604.csv');
  });

  describe('the sweeper on its own', () => {
    /** A temp file with `content` for `dir/name`, recorded in a committed transaction (no owner). */
    async function recorded(dir: string, name: string, content: string): Promise<RecordedEffect> {
      const tempPath = path.join(dir, tempNameFor(name));
      await fs.writeFile(tempPath, content);
      const file = { tempPath, finalPath: path.join(dir, name), sha256: createHash('sha256').update(content).digest('hex') };
      const client = await database.pool.connect();
      try {
        await client.query('BEGIN');
        const effect = await recordRename(client, { taskInstanceId: null, tryNumber: 1, dataRoots: [root] }, file);
        await client.query('COMMIT');
        return effect;
      } finally {
        client.release();
      }
    }
    const stateOf = async (e: RecordedEffect) =>
      (await database.pool.query<{ state: string; error: string | null }>('SELECT state, error FROM file_effects WHERE id = $1', [e.id])).rows[0];

    it('never renames an older pending file over a newer one: the older is superseded, its temp file removed', async () => {
      const dir = await folder('superseded');
      const older = await recorded(dir, 'r.csv', 'old\n');
      const newer = await recorded(dir, 'r.csv', 'new\n');
      expect(await completeEffect(database.pool, newer, silent, 'worker')).toBe('done');
      await completePendingEffects(database.pool, silent, 0);
      expect(await stateOf(older)).toEqual({ state: 'superseded', error: null });
      expect(await listing(dir)).toEqual(['r.csv']);
      expect(await fs.readFile(path.join(dir, 'r.csv'), 'utf8')).toBe('new\n');
    });

    it('a file gone before its rename is lost (an older file in its place is not it), with the way out; not tried again', async () => {
      const dir = await folder('gone');
      const effect = await recorded(dir, 'r.csv', 'x\n');
      await fs.rm(effect.tempPath);
      await fs.writeFile(effect.finalPath, 'older\n');
      await completePendingEffects(database.pool, silent, 0);
      const lost = await stateOf(effect);
      expect(lost.state).toBe('lost');
      expect(lost.error).toContain('clear the task to write it again');
      await fs.writeFile(effect.tempPath, 'x\n');
      await completePendingEffects(database.pool, silent, 0);
      expect(await listing(dir)).toEqual([path.basename(effect.tempPath), 'r.csv']);
      expect(await fs.readFile(effect.finalPath, 'utf8')).toBe('older\n');
    });

    it('a file renamed by a worker that died before recording it: found in place, done', async () => {
      const dir = await folder('renamed-unrecorded');
      const effect = await recorded(dir, 'r.csv', 'x\n');
      await fs.rename(effect.tempPath, effect.finalPath);
      await completePendingEffects(database.pool, silent, 0);
      expect(await stateOf(effect)).toEqual({ state: 'done', error: null });
    });

    it('a temp file changed after it was written is not renamed: pending, FILE_CHANGED', async () => {
      const dir = await folder('changed');
      const effect = await recorded(dir, 'r.csv', 'x\n');
      await fs.writeFile(effect.tempPath, 'y\n');
      await completePendingEffects(database.pool, silent, 0);
      const changed = await stateOf(effect);
      expect(changed.state).toBe('pending');
      expect(changed.error).toContain('FILE_CHANGED');
      expect(await listing(dir)).toEqual([path.basename(effect.tempPath)]);
    });

    it('refuses a temp file not named for its final file beside it', async () => {
      const dir = await folder('names');
      const sha = createHash('sha256').update('').digest('hex');
      const client = await database.pool.connect();
      try {
        for (const tempPath of [path.join(dir, 'other.csv'), path.join(root, tempNameFor('r.csv')), path.join(dir, tempNameFor('s.csv'))]) {
          const refused = await recordRename(client, { taskInstanceId: null, tryNumber: 1, dataRoots: [root] }, { tempPath, finalPath: path.join(dir, 'r.csv'), sha256: sha })
            .then(() => null, (err: { code?: string }) => err.code);
          expect(refused).toBe('ARGUMENT_INVALID');
        }
      } finally {
        client.release();
      }
    });
  });
});
