/**
 * Run params (and upstream results) cannot point a load outside the data roots: `..`, an absolute
 * path elsewhere, a symlinked file or folder pointing out, a glob reaching out, an upstream or
 * mapped path out — each run fails with PATH_OUTSIDE_ROOT naming the path and the root, and no
 * row of the outside file is in the target, the audit table or the ledger. Real engine (redis).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import type { TaskSpec } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { failures, makeTree, runWith, type Tree } from './tree.ts';

const COLUMNS = [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text' }];
const load = (source: object, extra: Partial<TaskSpec> = {}): TaskSpec => ({
  kind: 'load', options: { source, target: 'loaded', mode: 'append', columns: COLUMNS }, ...extra,
});

function dags(tree: Tree) {
  return [
    defineDag({ id: 'by_file', params: { file: z.string() }, tasks: { load: load({ file: '{params.file}' }) } }),
    defineDag({ id: 'by_glob', params: { dir: z.string() }, tasks: { load: load({ glob: '{params.dir}/*.csv' }) } }),
    defineDag({
      id: 'by_upstream',
      tasks: {
        list: { kind: 'noop', options: { result: { files: [path.join(tree.outside, 'secret.csv')] } } },
        load: load({ fromUpstream: { task: 'list', path: 'files' } }, { upstream: ['list'] }),
      },
    }),
    defineDag({
      id: 'by_sensor',
      params: { dir: z.string() },
      tasks: {
        files: { kind: 'sensor', options: { dir: '{params.dir}', pattern: '^.*\\.csv$', pokeIntervalMs: 50, timeoutMs: 5000 } },
        load: load({ fromUpstream: { task: 'files' } }, { upstream: ['files'], mapOver: { task: 'files', path: 'files' } }),
      },
    }),
  ];
}

describe('load sources confined to the data roots (redis)', () => {
  let tree: Tree;
  let t: TestEngine;
  const rows = async (pattern: string) =>
    (await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM loaded WHERE name LIKE $1', [pattern])).rows[0].n;

  beforeAll(async () => {
    tree = await makeTree();
    t = await startTestEngine({ backend: 'redis', dags: dags(tree), dataRoots: [tree.root] });
    // The control: a file inside the root loads (and creates the target the escapes are checked in).
    const control = await runWith(t, 'by_file', { file: path.join(tree.root, 'in', 'good.csv') });
    expect(control.state, JSON.stringify(await failures(t, control.runId))).toBe('success');
  });
  afterAll(async () => {
    await t?.close();
    await tree?.remove();
  });

  it('loads a file inside the root', async () => {
    expect(await rows('good-%')).toBe(tree.goodRows);
  });

  const escapes: Array<[string, string, (tr: Tree) => Record<string, string>, (tr: Tree) => string, string]> = [
    ['`../../etc/passwd` (relative to the working directory)', 'by_file', () => ({ file: '../../etc/passwd' }), () => path.resolve('../../etc/passwd'), 'load'],
    ['`<root>/../outside`', 'by_file', (tr) => ({ file: `${tr.root}/../outside/secret.csv` }), (tr) => path.join(tr.outside, 'secret.csv'), 'load'],
    ['an absolute path elsewhere', 'by_file', (tr) => ({ file: path.join(tr.outside, 'secret.csv') }), (tr) => path.join(tr.outside, 'secret.csv'), 'load'],
    ['/etc/passwd', 'by_file', () => ({ file: '/etc/passwd' }), () => '/etc/passwd', 'load'],
    ['a symlinked file pointing out', 'by_file', (tr) => ({ file: path.join(tr.root, 'file-out.csv') }), (tr) => path.join(tr.outside, 'secret.csv'), 'load'],
    ['a file under a symlinked folder pointing out', 'by_file', (tr) => ({ file: path.join(tr.root, 'dir-out', 'secret.csv') }), (tr) => path.join(tr.outside, 'secret.csv'), 'load'],
    ['a glob reaching out with `..`', 'by_glob', (tr) => ({ dir: `${tr.root}/../outside` }), (tr) => tr.outside, 'load'],
    ['a glob in a symlinked folder pointing out', 'by_glob', (tr) => ({ dir: path.join(tr.root, 'dir-out') }), (tr) => tr.outside, 'load'],
    ['an upstream result naming a file outside', 'by_upstream', () => ({}), (tr) => path.join(tr.outside, 'secret.csv'), 'load'],
    ['a mapped item the sensor found: a symlink pointing out', 'by_sensor', (tr) => ({ dir: path.join(tr.root, 'drop') }), (tr) => path.join(tr.outside, 'secret.csv'), 'load[0]'],
  ];

  it.each(escapes)('refuses %s: PATH_OUTSIDE_ROOT, nothing loaded', async (_, dagId, params, shown, task) => {
    const { runId, state } = await runWith(t, dagId, params(tree));
    expect(state).toBe('failed');
    const failed = await failures(t, runId);
    expect(failed[task]?.code).toBe('PATH_OUTSIDE_ROOT');
    expect(failed[task].error).toContain(shown(tree));
    expect(failed[task].error).toContain(`outside the data roots (${tree.root})`);
    expect(await rows('secret-%')).toBe(0);
    expect(await rows('good-%')).toBe(tree.goodRows);
    const audited = await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.loaded_rejects WHERE run_id = $1', [runId]);
    expect(audited.rows[0].n).toBe(0);
    const ledger = await t.database.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM load_ledger WHERE target LIKE '%loaded' AND path NOT LIKE '%good.csv'");
    expect(ledger.rows[0].n).toBe(0);
  });
});
