/**
 * Paths confined to the data roots (ctx.dataRoots): a path a task touches is made absolute, the
 * existing part of it followed through symlinks (dangling ones too), and accepted only when that
 * real location is inside a root — else PATH_OUTSIDE_ROOT naming the path and the roots.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TributaryError } from '../engine/errors.ts';

/** Symlinks followed on one path before giving up (Linux's own limit is 40). */
const MAX_LINKS = 40;

/** True when the absolute, normalized `target` is `root` itself or below it. */
export function isWithin(target: string, root: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function cannotResolve(p: string, err: NodeJS.ErrnoException): TributaryError {
  return new TributaryError('FILE_UNREADABLE', `cannot resolve ${p} (${err.code ?? err.message})`, { cause: err });
}

/**
 * Where the absolute path `p` really is: fs.realpath of its longest existing prefix, a dangling
 * symlink followed to where it points, the missing rest appended.
 */
export async function realLocation(p: string, links = 0): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw cannotResolve(p, err as NodeJS.ErrnoException);
  }
  const parent = path.dirname(p);
  if (parent === p) return p;
  const realParent = await realLocation(parent, links);
  const link = await fs.readlink(p).catch(() => null);
  if (link === null) return path.join(realParent, path.basename(p));
  if (links >= MAX_LINKS) throw cannotResolve(p, Object.assign(new Error('too many symlinks'), { code: 'ELOOP' }));
  return realLocation(path.resolve(realParent, link), links + 1);
}

/**
 * `target` made absolute (path.resolve), once its real location is inside one of `roots`.
 * `what` names the path for people, e.g. `load source` or `report folder`.
 */
export async function confinePath(target: string, roots: readonly string[], what: string): Promise<string> {
  const absolute = path.resolve(target);
  const real = await realLocation(absolute);
  for (const root of roots) {
    if (isWithin(real, await realLocation(path.resolve(root)))) return absolute;
  }
  const via = real === absolute ? '' : ` (a symlink to ${real})`;
  const allowed = roots.length > 0 ? roots.join(', ') : 'none';
  throw new TributaryError(
    'PATH_OUTSIDE_ROOT',
    `${what} ${absolute}${via} is outside the data roots (${allowed}); allow a folder with DATA_ROOTS or the DAG's dataRoots`,
  );
}

/** A file opened once for reading, checked on its handle: everything the task reads goes through `handle`. */
export interface ConfinedFile {
  handle: fs.FileHandle;
  /** The path as named (absolute). */
  path: string;
  /** Where the opened file really is (what the ledger records). */
  realPath: string;
  stat: Stats;
}

/** Where an open handle really is: Linux's /proc/self/fd link, else the name's real path if it is the same inode. */
async function handleLocation(handle: fs.FileHandle, absolute: string, stat: Stats): Promise<string> {
  const viaProc = await fs.readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
  if (viaProc !== null && viaProc.startsWith('/')) return viaProc;
  const real = await fs.realpath(absolute);
  const named = await fs.stat(real);
  if (named.dev !== stat.dev || named.ino !== stat.ino) {
    throw new TributaryError('FILE_CHANGED', `${absolute} was replaced while it was being opened; nothing read`);
  }
  return real;
}

/**
 * Opens `target` for reading and confines the OPEN file, not its name: the handle's real location
 * must be inside `roots`, so a symlink swapped between a check and the open cannot lead outside.
 * Opened non-blocking (a FIFO never hangs the open); only a regular file is accepted.
 */
export async function openConfined(target: string, roots: readonly string[], what: string): Promise<ConfinedFile> {
  const absolute = path.resolve(target);
  const handle = await fs.open(absolute, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new TributaryError('FILE_NOT_FOUND', `file not found: ${absolute}`);
    throw new TributaryError('FILE_UNREADABLE', `cannot open ${absolute} (${err.code ?? err.message})`, { cause: err });
  });
  try {
    const stat = await handle.stat();
    const realPath = await handleLocation(handle, absolute, stat);
    const realRoots = await Promise.all(roots.map((r) => realLocation(path.resolve(r))));
    if (!realRoots.some((root) => isWithin(realPath, root))) {
      const allowed = roots.length > 0 ? roots.join(', ') : 'none';
      throw new TributaryError('PATH_OUTSIDE_ROOT',
        `${what} ${absolute} opened a file at ${realPath}, outside the data roots (${allowed}); nothing read`);
    }
    if (!stat.isFile()) throw new TributaryError('FILE_UNREADABLE', `${absolute} is not a regular file`);
    return { handle, path: absolute, realPath, stat };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
