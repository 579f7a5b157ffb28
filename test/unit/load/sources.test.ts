import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOptions } from '../../../jobs/load/options.ts';
import { expandGlob, resolveSources } from '../../../jobs/load/sources.ts';
import { renderTemplate } from '../../../jobs/templates.ts';
import { makeTaskContext, type TestTaskOverrides } from '../../support/task-context.ts';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-load-sources-'));
  for (const f of ['acme_20250513.csv', 'beta_20250513.csv', 'acme_20250512.csv', 'notes.txt']) await fs.writeFile(path.join(dir, f), 'a\n');
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

const ctx = (overrides: TestTaskOverrides = {}) => makeTaskContext({} as pg.PoolClient, overrides);
const options = (source: object, extra: object = {}) =>
  loadOptions.parse({ source, target: 't', columns: [{ name: 'a', type: 'text' }], ...extra });

describe('load sources', () => {
  it('renders date placeholders from the logical date in UTC', () => {
    expect(renderTemplate('in/{yyyymmdd}/x_{date}_{yyyy}{mm}{dd}.csv', { logicalDate: new Date('2025-05-13T23:30:00Z') })).toBe('in/20250513/x_2025-05-13_20250513.csv');
  });

  it('renders run params and names a missing one', () => {
    const scope = { logicalDate: new Date('2025-05-13T00:00:00Z'), params: { dataDir: '/data/w1', n: 3 } };
    expect(renderTemplate('{params.dataDir}/{yyyy-mm-dd}/{params.n}', scope)).toBe('/data/w1/2025-05-13/3');
    expect(() => renderTemplate('{params.missing}/x', scope)).toThrow(/param "missing"/);
  });

  it('expands a glob in the file name, sorted; wildcards in directories are refused', async () => {
    expect((await expandGlob(path.join(dir, '*_20250513.csv'))).map((p) => path.basename(p))).toEqual(['acme_20250513.csv', 'beta_20250513.csv']);
    expect(await expandGlob(path.join(dir, 'nothing*.csv'))).toEqual([]);
    await expect(expandGlob(path.join(dir, '*', 'x.csv'))).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
  });

  it('resolves file and glob sources with templates', async () => {
    const files = await resolveSources(ctx(), options({ glob: path.join(dir, '*_{yyyymmdd}.csv') }));
    expect(files.map((f) => path.basename(f.path))).toEqual(['acme_20250513.csv', 'beta_20250513.csv']);
    await expect(resolveSources(ctx(), options({ glob: path.join(dir, 'zzz_*.csv') }))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const one = await resolveSources(ctx(), options({ file: path.join(dir, 'acme_{yyyymmdd}.csv') }, { partition: { column: 'agency', value: 'acme' } }));
    expect(one).toEqual([{ path: path.join(dir, 'acme_20250513.csv'), partition: 'acme' }]);
  });

  it('reads the upstream result (at a path) or the mapped item, with per-item partitions', async () => {
    const upstream = { sense: { files: [path.join(dir, 'a.csv'), { path: path.join(dir, 'b.csv'), partition: 'beta' }] } };
    const source = { fromUpstream: { task: 'sense', path: 'files' } };
    const files = await resolveSources(ctx({ upstream }), options(source));
    expect(files).toEqual([{ path: path.join(dir, 'a.csv'), partition: undefined }, { path: path.join(dir, 'b.csv'), partition: 'beta' }]);
    const mapped = await resolveSources(ctx({ upstream, mapIndex: 1, mapItem: { path: path.join(dir, 'c.csv'), partition: 'acme' } }), options(source));
    expect(mapped).toEqual([{ path: path.join(dir, 'c.csv'), partition: 'acme' }]);
    await expect(resolveSources(ctx({ upstream: { sense: { files: [42] } } }), options(source))).rejects.toMatchObject({ code: 'SOURCE_MALFORMED' });
    await expect(resolveSources(ctx(), options(source))).rejects.toMatchObject({ code: 'SOURCE_MALFORMED' });
  });
});
