/**
 * Paths confined to the data roots (ctx.dataRoots): a path a task touches is made absolute, the
 * existing part of it followed through symlinks (dangling ones too), and accepted only when that
 * real location is inside a root — else PATH_OUTSIDE_ROOT naming the path and the roots.
 */
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
