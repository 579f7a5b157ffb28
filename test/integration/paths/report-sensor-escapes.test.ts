/**
 * Report folders and sensor folders confined to the data roots: a report pointed outside (`..`,
 * absolute elsewhere, a symlinked or dangling folder pointing out) fails with PATH_OUTSIDE_ROOT,
 * creates no folder, writes no file and records no report; a sensor pointed outside fails at once
 * instead of watching. A DAG's own `dataRoots` widen the roots for that DAG only. Real engine (redis).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { failures, makeTree, runWith, type Tree } from './tree.ts';

const REPORT = { kind: 'report', options: { query: 'SELECT 1 AS n', outputDir: '{params.dir}', fileName: 'r_{yyyymmdd}.csv' } };
const DIR_PARAM = { dir: z.string() };
const SENSOR = { kind: 'sensor', options: { dir: '{params.dir}', pattern: '^.*\\.csv$', pokeIntervalMs: 50, timeoutMs: 20_000 } };

/** Every file and folder under `dir`, relative, sorted (symlinks not followed). */
async function listing(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).sort();
}

const exists = (p: string) => fs.access(p).then(() => true, () => false);

describe('report and sensor folders confined to the data roots (redis)', () => {
  let tree: Tree;
  let extra: string;
  let t: TestEngine;
  let outsideBefore: string[];
  const reportRows = async (runId: number) =>
    (await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reports WHERE run_id = $1', [runId])).rows[0].n;

  beforeAll(async () => {
    tree = await makeTree();
    extra = path.join(tree.base, 'extra');
    t = await startTestEngine({
      backend: 'redis',
      dataRoots: [tree.root],
      dags: [
        defineDag({ id: 'report', params: DIR_PARAM, tasks: { report: REPORT } }),
        defineDag({ id: 'sensor', params: DIR_PARAM, tasks: { files: SENSOR } }),
        defineDag({ id: 'declared', params: DIR_PARAM, dataRoots: [extra], tasks: { report: REPORT } }),
      ],
    });
    outsideBefore = await listing(tree.outside);
  });
  afterAll(async () => {
    await t?.close();
    await tree?.remove();
  });

  it('writes a report into a new folder inside the root', async () => {
    const dir = path.join(tree.root, 'reports', 'new', 'deeper');
    const { runId, state } = await runWith(t, 'report', { dir });
    expect(state).toBe('success');
    const [file] = await fs.readdir(dir);
    expect(await fs.readFile(path.join(dir, file), 'utf8')).toBe('n\n1\n');
    expect(await reportRows(runId)).toBe(1);
  });

  const reportEscapes: Array<[string, (tr: Tree) => string, (tr: Tree) => string]> = [
    ['a new folder elsewhere', (tr) => path.join(tr.outside, 'made-by-report'), (tr) => path.join(tr.outside, 'made-by-report')],
    ['`<root>/../outside/…`', (tr) => `${tr.root}/../outside/dotdot`, (tr) => path.join(tr.outside, 'dotdot')],
    ['an existing folder elsewhere', (tr) => tr.outside, (tr) => tr.outside],
    ['a folder under a symlink pointing out', (tr) => path.join(tr.root, 'dir-out', 'sub'), (tr) => path.join(tr.outside, 'sub')],
    ['a dangling symlink pointing out', (tr) => path.join(tr.root, 'dangling-out'), (tr) => path.join(tr.outside, 'not-yet')],
    ['a relative path climbing out of the working directory', (tr) => path.relative(process.cwd(), path.join(tr.outside, 'climbed')), (tr) => path.join(tr.outside, 'climbed')],
  ];

  it.each(reportEscapes)('refuses a report folder at %s: nothing created or written', async (_, dir, real) => {
    const { runId, state } = await runWith(t, 'report', { dir: dir(tree) });
    expect(state).toBe('failed');
    const failed = await failures(t, runId);
    expect(failed.report?.code).toBe('PATH_OUTSIDE_ROOT');
    expect(failed.report.error).toContain(real(tree));
    expect(failed.report.error).toContain(`outside the data roots (${tree.root})`);
    expect(await listing(tree.outside)).toEqual(outsideBefore);
    if (real(tree) !== tree.outside) expect(await exists(real(tree))).toBe(false);
    expect(await reportRows(runId)).toBe(0);
  });

  const sensorEscapes: Array<[string, (tr: Tree) => string]> = [
    ['an absolute folder elsewhere', (tr) => tr.outside],
    ['`<root>/../outside`', (tr) => `${tr.root}/../outside`],
    ['a symlinked folder pointing out', (tr) => path.join(tr.root, 'dir-out')],
  ];

  it.each(sensorEscapes)('a sensor watching %s fails at once with PATH_OUTSIDE_ROOT', async (_, dir) => {
    const started = Date.now();
    const { runId, state } = await runWith(t, 'sensor', { dir: dir(tree) });
    expect(state).toBe('failed');
    expect(Date.now() - started).toBeLessThan(10_000); // not the 20 s deadline
    const failed = await failures(t, runId);
    expect(failed.files?.code).toBe('PATH_OUTSIDE_ROOT');
    expect(failed.files.error).toContain(`sensor folder ${path.resolve(dir(tree))}`);
    const { rows } = await t.database.pool.query('SELECT result FROM task_instances WHERE run_id = $1', [runId]);
    expect(rows).toEqual([{ result: null }]);
  });

  it('a sensor inside the root finds its files', async () => {
    const { runId, state } = await runWith(t, 'sensor', { dir: path.join(tree.root, 'in') });
    expect(state).toBe('success');
    const { rows } = await t.database.pool.query<{ result: { files: Array<{ path: string }> } }>('SELECT result FROM task_instances WHERE run_id = $1', [runId]);
    expect(rows[0].result.files.map((f) => f.path)).toEqual([path.join(tree.root, 'in', 'good.csv')]);
  });

  it("a DAG's dataRoots allow its own folder; another DAG is still refused there", async () => {
    const dir = path.join(extra, 'reports');
    const declared = await runWith(t, 'declared', { dir });
    expect(declared.state).toBe('success');
    expect(await fs.readdir(dir)).toHaveLength(1);
    const other = await runWith(t, 'report', { dir: path.join(extra, 'other') });
    expect((await failures(t, other.runId)).report?.code).toBe('PATH_OUTSIDE_ROOT');
    expect(await fs.readdir(extra)).toEqual(['reports']);
  });
});
