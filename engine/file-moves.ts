/**
 * The file-system half of a durable file effect (engine/file-effects.ts), by path names only, so
 * any process can do it: placeFile renames the temp file over the final one once its content has
 * the recorded sha256, inside a ConfinedFolder (the folder's real location inside the data roots,
 * renamed through its handle); removeTemp removes the temp file of a try that did not commit, only
 * while it still holds that content. Neither touches any name but `.<final name>.<12 hex>.tmp`
 * (tempNameFor) and the final name, in the final file's folder.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfinedFolder } from '../jobs/confined-folder.ts';
import { sha256Of } from '../jobs/file-hash.ts';
import { TributaryError } from './errors.ts';
import type { FileRename } from './types.ts';

const TEMP_NAME = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;
const READ = constants.O_RDONLY | constants.O_NOFOLLOW;

/** A fresh temp name for `finalName` (a plain file name), in the naming placeFile and removeTemp accept. */
export function tempNameFor(finalName: string): string {
  return `.${finalName}.${randomBytes(6).toString('hex')}.tmp`;
}

interface Names {
  dir: string;
  tempName: string;
  finalName: string;
}

/** The folder and both names; ARGUMENT_INVALID unless the temp file is finalPath's, by tempNameFor's naming. */
export function fileNames(file: FileRename): Names {
  const dir = path.dirname(file.finalPath);
  const tempName = path.basename(file.tempPath);
  const finalName = path.basename(file.finalPath);
  const ours = path.isAbsolute(file.finalPath) && path.dirname(file.tempPath) === dir && TEMP_NAME.exec(tempName)?.[1] === finalName;
  if (!ours || !/^[0-9a-f]{64}$/.test(file.sha256)) {
    throw new TributaryError('ARGUMENT_INVALID', `${file.tempPath} → ${file.finalPath} (sha256 ${file.sha256}) is not a temp file named for its final file beside it`);
  }
  return { dir, tempName, finalName };
}

/**
 * What placeFile found: `renamed` (the temp file is now the final one), `in_place` (no temp file,
 * the final file already holds the content) or `missing` (the folder is there, neither file is:
 * the content is gone).
 */
export type Placed = 'renamed' | 'in_place' | 'missing';

/**
 * Puts the content in place. Throws (the caller retries later) when the rename fails, the temp
 * file holds other content, a path leads outside the data roots, or the folder is not there (moved,
 * deleted, or not reachable from this host: nothing to judge the content by).
 */
export async function placeFile(file: FileRename, roots: readonly string[]): Promise<Placed> {
  const { dir, tempName, finalName } = fileNames(file);
  const folder = await openExisting(dir, roots);
  if (!folder) throw new TributaryError('FILE_NOT_FOUND', `folder ${dir} does not exist (moved or deleted, or not reachable from this host)`);
  try {
    const temp = await openFile(folder, tempName);
    if (temp) {
      try {
        await folder.locate(temp, tempName);
        const hash = await sha256Of(temp);
        if (hash !== file.sha256) {
          throw new TributaryError('FILE_CHANGED', `${file.tempPath} holds sha256 ${hash}, not the ${file.sha256} written: it changed after it was written; left as it is`);
        }
        await folder.rename(tempName, finalName);
        await afterRename(folder, temp, finalName);
        return 'renamed';
      } finally {
        await temp.close();
      }
    }
    const final = await openFile(folder, finalName);
    if (!final) return 'missing';
    try {
      return (await final.stat()).isFile() && (await sha256Of(final)) === file.sha256 ? 'in_place' : 'missing';
    } finally {
      await final.close();
    }
  } finally {
    await folder.close();
  }
}

/** Removes the temp file when it still holds the content written; true when it did. */
export async function removeTemp(file: FileRename, roots: readonly string[]): Promise<boolean> {
  const { dir, tempName } = fileNames(file);
  const folder = await openExisting(dir, roots);
  if (!folder) return false;
  try {
    const temp = await openFile(folder, tempName);
    if (!temp) return false;
    try {
      if ((await sha256Of(temp)) !== file.sha256) return false;
      await folder.remove(tempName, temp);
      return true;
    } finally {
      await temp.close();
    }
  } finally {
    await folder.close();
  }
}

/** The renamed file must still be where it was put: a folder moved out of the roots meanwhile loses it again. */
async function afterRename(folder: ConfinedFolder, file: fs.FileHandle, name: string): Promise<void> {
  try {
    await folder.locate(file, name);
  } catch (err) {
    if (err instanceof TributaryError && err.code === 'PATH_OUTSIDE_ROOT') await folder.remove(name, file);
    throw err;
  }
}

/** The folder, confined to the roots; null when it does not exist (it is never made here). */
async function openExisting(dir: string, roots: readonly string[]): Promise<ConfinedFolder | null> {
  const exists = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
  return exists ? ConfinedFolder.open(dir, roots, 'folder') : null;
}

/** `name` in the folder opened for reading (never through a symlink), or null when there is none. */
async function openFile(folder: ConfinedFolder, name: string): Promise<fs.FileHandle | null> {
  return fs.open(folder.entry(name), READ).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  });
}
