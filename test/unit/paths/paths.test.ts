/**
 * The root resolver (jobs/paths.ts) on the real file system: `..`, absolute paths elsewhere,
 * symlinks (file, folder, dangling, chained, looping) and roots that are symlinks themselves; the
 * pure containment check against an independent component-stack reference (fast-check); DATA_ROOTS
 * and a DAG's dataRoots as configuration.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDataRoots, loadConfig } from '../../../engine/config.ts';
import { compileDag } from '../../../engine/dag.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import { confinePath, isWithin, realLocation } from '../../../jobs/paths.ts';

/** Reference: `segments` applied one by one to `root`'s components, inside iff root stays a prefix. */
function referenceWithin(root: string, segments: string[]): boolean {
  const rootParts = root.split('/').filter(Boolean);
  const stack = [...rootParts];
  for (const s of segments) {
    if (s === '..') stack.pop();
    else if (s !== '.' && s !== '') stack.push(s);
  }
  return rootParts.every((part, i) => stack[i] === part);
}

describe('isWithin (pure)', () => {
  it.each([
    ['/data/root', '/data/root', true],
    ['/data/root/a/b.csv', '/data/root', true],
    ['/data/rootX/a.csv', '/data/root', false],
    ['/data', '/data/root', false],
    ['/etc/passwd', '/data/root', false],
    ['/data/root/..hidden', '/data/root', true],
    ['/anything/at/all', '/', true],
  ])('%s within %s → %s', (target, root, inside) => {
    expect(isWithin(target, root)).toBe(inside);
  });

  it('agrees with a component-stack reference on random relative paths (fast-check)', () => {
    const segment = fc.constantFrom('a', 'b', 'root', 'rootX', '..', '.', '..x', 'x..');
    const root = fc.constantFrom('/srv/root', '/root', '/srv/a/root');
    fc.assert(
      fc.property(root, fc.array(segment, { maxLength: 8 }), (r, segments) => {
        expect(isWithin(path.resolve(r, ...segments), r)).toBe(referenceWithin(r, segments));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('confinePath on the real file system', () => {
  let base: string;
  let root: string;
  let outside: string;
  const refused = { code: 'PATH_OUTSIDE_ROOT' };

  beforeAll(async () => {
    base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trib-paths-')));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    await fs.mkdir(path.join(root, 'in'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(root, 'in', 'ok.csv'), 'a\n1\n');
    await fs.writeFile(path.join(outside, 'secret.csv'), 'a\n1\n');
    await fs.symlink(path.join(outside, 'secret.csv'), path.join(root, 'file-out.csv'));
    await fs.symlink(outside, path.join(root, 'dir-out'));
    await fs.symlink(path.join(outside, 'not-yet'), path.join(root, 'dangling-out'));
    await fs.symlink('in/ok.csv', path.join(root, 'file-in.csv')); // relative, stays inside
    await fs.symlink(path.join(root, 'dir-out'), path.join(root, 'chain-out')); // link → link → outside
    await fs.symlink(path.join(root, 'loop-b'), path.join(root, 'loop-a'));
    await fs.symlink(path.join(root, 'loop-a'), path.join(root, 'loop-b'));
    await fs.symlink(root, path.join(base, 'root-link'));
  });
  afterAll(async () => fs.rm(base, { recursive: true, force: true }));

  it('accepts files and missing paths inside, and returns them absolute', async () => {
    expect(await confinePath(path.join(root, 'in', 'ok.csv'), [root], 'x')).toBe(path.join(root, 'in', 'ok.csv'));
    expect(await confinePath(path.join(root, 'new', 'deeper', 'r.csv'), [root], 'x')).toBe(path.join(root, 'new', 'deeper', 'r.csv'));
    expect(await confinePath(path.join(root, 'file-in.csv'), [root], 'x')).toBe(path.join(root, 'file-in.csv'));
    expect(await confinePath(path.join(root, 'in', '..', 'in', 'ok.csv'), [root], 'x')).toBe(path.join(root, 'in', 'ok.csv'));
    const relative = path.relative(process.cwd(), path.join(root, 'in', 'ok.csv'));
    expect(await confinePath(relative, [root], 'x')).toBe(path.join(root, 'in', 'ok.csv'));
  });

  it('refuses `..`, absolute paths elsewhere and every symlink that points out', async () => {
    for (const escape of [
      path.join(root, '..', 'outside', 'secret.csv'),
      path.join(outside, 'secret.csv'),
      '/etc/passwd',
      path.join(root, 'file-out.csv'),
      path.join(root, 'dir-out', 'secret.csv'),
      path.join(root, 'dir-out', 'new-folder'),
      path.join(root, 'dangling-out'),
      path.join(root, 'dangling-out', 'sub', 'r.csv'),
      path.join(root, 'chain-out', 'secret.csv'),
    ]) {
      await expect(confinePath(escape, [root], 'load source'), escape).rejects.toMatchObject(refused);
    }
  });

  it('names the path, the symlink target and the roots in one line', async () => {
    const err = await confinePath(path.join(root, 'file-out.csv'), [root, '/srv/other'], 'load source').catch((e: Error) => e);
    expect(err).toMatchObject(refused);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`load source ${path.join(root, 'file-out.csv')}`);
    expect(message).toContain(`a symlink to ${path.join(outside, 'secret.csv')}`);
    expect(message).toContain(`(${root}, /srv/other)`);
  });

  it('follows a root that is itself a symlink; refuses everything with no roots', async () => {
    expect(await confinePath(path.join(root, 'in', 'ok.csv'), [path.join(base, 'root-link')], 'x')).toBe(path.join(root, 'in', 'ok.csv'));
    expect(await confinePath(path.join(base, 'root-link', 'in', 'ok.csv'), [root], 'x')).toBe(path.join(base, 'root-link', 'in', 'ok.csv'));
    await expect(confinePath(path.join(root, 'in', 'ok.csv'), [], 'x')).rejects.toMatchObject(refused);
  });

  it('resolves real locations through dangling links; a symlink loop is FILE_UNREADABLE', async () => {
    expect(await realLocation(path.join(root, 'dangling-out', 'a', 'b'))).toBe(path.join(outside, 'not-yet', 'a', 'b'));
    expect(await realLocation(path.join(root, 'in', 'ok.csv', 'x'))).toBe(path.join(root, 'in', 'ok.csv', 'x'));
    await expect(confinePath(path.join(root, 'loop-a', 'x.csv'), [root], 'x')).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
  });
});

describe('data roots as configuration', () => {
  it('DATA_ROOTS is split on path.delimiter and made absolute; the default is under TRIBUTARY_HOME', () => {
    const config = loadConfig({ DATA_ROOTS: ['/srv/in', 'rel/out', ''].join(path.delimiter) });
    expect(config.dataRoots).toEqual(['/srv/in', path.resolve('rel/out')]);
    expect(loadConfig({ TRIBUTARY_HOME: '/var/trib' }).dataRoots).toEqual(['/var/trib/data', '/var/trib/reports', '/var/trib/demo']);
    expect(loadConfig({}).dataRoots).toEqual(defaultDataRoots('.tributary'));
    expect(() => loadConfig({ DATA_ROOTS: path.delimiter })).toThrow(/DATA_ROOTS: must name at least one folder/);
  });

  it("a DAG's dataRoots are literal folders, made absolute at compile time", () => {
    const tasks = { a: { kind: 'noop' } };
    const dag = compileDag({ id: 'd', dataRoots: ['/srv/x', 'rel'], tasks }, 'd.ts', builtinKinds());
    expect(dag.dataRoots).toEqual(['/srv/x', path.resolve('rel')]);
    expect(compileDag({ id: 'd', tasks }, 'd.ts', builtinKinds()).dataRoots).toEqual([]);
    expect(() => compileDag({ id: 'd', dataRoots: ['{params.dir}'], tasks }, 'd.ts', builtinKinds())).toThrow(/dataRoots\[0\]: a data root is a literal folder/);
  });
});
