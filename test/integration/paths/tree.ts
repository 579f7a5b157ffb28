/**
 * The file tree of the path-escape tests: `root` (the engine's only data root) holding good files
 * and symlinks that point out, `outside` holding loadable CSVs a confined task must never read.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestEngine } from '../../support/engine.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { Json } from '../../../engine/types.ts';

export interface Tree {
  base: string;
  root: string;
  outside: string;
  /** Rows of root/in/good.csv (`id,name`, names `good-N`). */
  goodRows: number;
  remove(): Promise<void>;
}

const csv = (prefix: string, n: number) => `id,name\n${Array.from({ length: n }, (_, i) => `${i + 1},${prefix}-${i + 1}`).join('\n')}\n`;

export async function makeTree(): Promise<Tree> {
  const base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trib-escape-')));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await fs.mkdir(path.join(root, 'in'), { recursive: true });
  await fs.mkdir(path.join(root, 'drop'));
  await fs.mkdir(outside);
  await fs.writeFile(path.join(root, 'in', 'good.csv'), csv('good', 3));
  await fs.writeFile(path.join(outside, 'secret.csv'), csv('secret', 5));
  await fs.symlink(path.join(outside, 'secret.csv'), path.join(root, 'file-out.csv'));
  await fs.symlink(outside, path.join(root, 'dir-out'));
  await fs.symlink(path.join(outside, 'not-yet'), path.join(root, 'dangling-out'));
  await fs.symlink(path.join(outside, 'secret.csv'), path.join(root, 'drop', 'evil.csv'));
  return { base, root, outside, goodRows: 3, remove: () => fs.rm(base, { recursive: true, force: true }) };
}

let day = 0;

/** Runs `dagId` once with `params` (each call a new logical day) and returns its run id and state. */
export async function runWith(t: TestEngine, dagId: string, params: Record<string, Json>): Promise<{ runId: number; state: string }> {
  day += 1;
  const date = new Date(Date.UTC(2025, 0, day)).toISOString().slice(0, 10);
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get(dagId)!, { date: date, params });
  return { runId, state: await t.waitForRun(runId) };
}

/** The failed task instances of a run: `task[i]` → { code, error }. */
export async function failures(t: TestEngine, runId: number): Promise<Record<string, { code: string; error: string }>> {
  const { rows } = await t.database.pool.query<{ task_id: string; map_index: number; error_code: string; error: string }>(
    `SELECT task_id, map_index, error_code, error FROM task_instances WHERE run_id = $1 AND state = 'failed' ORDER BY task_id, map_index`,
    [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.map_index < 0 ? r.task_id : `${r.task_id}[${r.map_index}]`, { code: r.error_code, error: r.error }]));
}
