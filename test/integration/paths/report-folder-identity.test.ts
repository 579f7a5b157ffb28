/**
 * A report file is written in the folder that was opened and checked, wherever that folder goes:
 * a folder moved out of the data root, deleted, or a hard link made to the file while it is
 * written each fail the write with a clear code and leave no file outside the root. The rename
 * after COMMIT (engine/file-moves.ts placeFile, by path) goes by where the file was written: a
 * folder moved away before it fails it (FILE_NOT_FOUND, nothing renamed), and a symlink put in its
 * place is refused.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../engine/errors.ts';
import { placeFile } from '../../../engine/file-moves.ts';
import { ConfinedFolder } from '../../../jobs/confined-folder.ts';
import { AtomicCsvFile, type WrittenFile } from '../../../jobs/report/atomic-csv.ts';

const CSV = { columns: ['n'], header: true, delimiter: ',' };

let base: string;
let root: string;
let outside: string;

async function listing(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).sort();
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  const err = await work.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(TributaryError);
  return (err as TributaryError).code;
}

/** The rename the engine does after COMMIT, as the report records it. */
const place = (w: WrittenFile) => placeFile({ tempPath: w.tempPath, finalPath: w.path, sha256: w.sha256 }, [root]);

/** A finished (not yet committed) one-row report `r.csv` in `dir`. */
async function written(dir: string): Promise<AtomicCsvFile> {
  const file = await AtomicCsvFile.open(await ConfinedFolder.open(dir, [root], 'report folder'), 'r.csv', CSV);
  await file.write(['1']);
  return file;
}

/** As written(), in the new folder `root/<name>`: its path and the file. */
async function writtenIn(name: string): Promise<{ dir: string; file: AtomicCsvFile }> {
  const dir = path.join(root, name);
  await fs.mkdir(dir);
  return { dir, file: await written(dir) };
}

beforeAll(async () => {
  base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trib-folder-id-')));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
});
beforeEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
  await fs.mkdir(root);
  await fs.mkdir(outside);
});
afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe('report files stay in the folder that was checked', () => {
  it('makes missing folders inside the root and writes the file there', async () => {
    const file = await written(path.join(root, 'a', 'b'));
    const done = await file.finish();
    expect(done.path).toBe(path.join(root, 'a', 'b', 'r.csv'));
    await file.close();
    expect(await place(done)).toBe('renamed');
    expect(await fs.readFile(done.path, 'utf8')).toBe('n\n1\n');
    expect(await listing(root)).toEqual(['a', 'a/b', 'a/b/r.csv']);
  });

  it('refuses a folder under a symlink pointing out, making nothing there', async () => {
    await fs.symlink(outside, path.join(root, 'out'));
    expect(await codeOf(ConfinedFolder.open(path.join(root, 'out', 'new', 'deeper'), [root], 'report folder'))).toBe('PATH_OUTSIDE_ROOT');
    expect(await listing(outside)).toEqual([]);
  });

  it('writes into the opened folder even after its name is swapped for a symlink pointing out', async () => {
    const { dir, file } = await writtenIn('swap');
    await fs.rename(dir, path.join(root, 'aside'));
    await fs.symlink(outside, dir);
    const done = await file.finish();
    await file.close();
    expect(await place(done)).toBe('renamed');
    expect(done.path).toBe(path.join(root, 'aside', 'r.csv'));
    expect(await fs.readFile(done.path, 'utf8')).toBe('n\n1\n');
    expect(await listing(outside)).toEqual([]);
  });

  it('a folder moved out of the root while the file is written: PATH_OUTSIDE_ROOT, the temp file removed', async () => {
    const { dir, file } = await writtenIn('moving');
    await fs.rename(dir, path.join(outside, 'moved'));
    expect(await codeOf(file.finish())).toBe('PATH_OUTSIDE_ROOT');
    await file.discard();
    expect(await listing(outside)).toEqual(['moved']);
  });

  it('a folder moved out between the write and the rename: nothing renamed there; a symlink in its place is refused', async () => {
    const { dir, file } = await writtenIn('later');
    const done = await file.finish();
    await file.close();
    const temp = path.basename(done.tempPath);
    await fs.rename(dir, path.join(outside, 'later'));
    expect(await codeOf(place(done))).toBe('FILE_NOT_FOUND');
    await fs.symlink(path.join(outside, 'later'), dir);
    expect(await codeOf(place(done))).toBe('PATH_OUTSIDE_ROOT');
    expect(await listing(outside)).toEqual(['later', `later/${temp}`]);
  });

  it('a folder moved within the root before the rename: nothing renamed, the written file left where it went', async () => {
    const { dir, file } = await writtenIn('renamed');
    const done = await file.finish();
    await file.close();
    await fs.rename(dir, path.join(root, 'elsewhere'));
    expect(await codeOf(place(done))).toBe('FILE_NOT_FOUND');
    expect(done.path).toBe(path.join(dir, 'r.csv'));
    expect(await listing(root)).toEqual(['elsewhere', `elsewhere/${path.basename(done.tempPath)}`]);
  });

  it('a folder deleted while the file is written: FILE_CHANGED', async () => {
    const { dir, file } = await writtenIn('gone');
    await fs.rm(dir, { recursive: true });
    expect(await codeOf(file.finish())).toBe('FILE_CHANGED');
    await file.discard();
    expect(await listing(root)).toEqual([]);
  });

  it('a hard link made to the temp file: FILE_CHANGED, the temp file removed (the other name stays)', async () => {
    const file = await written(root);
    const [temp] = await fs.readdir(root);
    await fs.link(path.join(root, temp), path.join(root, 'linked'));
    expect(await codeOf(file.finish())).toBe('FILE_CHANGED');
    await file.discard();
    expect(await listing(root)).toEqual(['linked']);
  });
});
