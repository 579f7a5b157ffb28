/**
 * A folder opened once and confined by its open handle (Linux, /proc): its real location must be
 * inside the data roots, and files are created, renamed and removed through /proc/self/fd/<fd>/<name>
 * (what openat/renameat do), so they land in that very folder whatever is swapped along its name.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { TributaryError } from '../engine/errors.ts';
import { isWithin, realLocation } from './paths.ts';

const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY;
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/** The path /proc gives for an open handle (a deleted one's ends in " (deleted)"). */
async function procPath(handle: fs.FileHandle): Promise<string> {
  try {
    return await fs.readlink(`/proc/self/fd/${handle.fd}`);
  } catch (err) {
    throw new TributaryError('CONFIG_INVALID', `cannot tell where an open file is (/proc/self/fd: ${errno(err)}); writing files needs Linux with /proc mounted`, { cause: err });
  }
}

/** Where `handle` is now, or null when that path no longer names it (deleted, or moved meanwhile). */
async function whereNow(handle: fs.FileHandle): Promise<string | null> {
  const real = await procPath(handle);
  const [own, named] = await Promise.all([handle.stat(), fs.lstat(real).catch(() => null)]);
  return named !== null && named.dev === own.dev && named.ino === own.ino ? real : null;
}

export class ConfinedFolder {
  private constructor(
    /** The folder as named (absolute), for messages. */
    readonly path: string,
    private readonly handle: fs.FileHandle,
    private readonly realRoots: readonly string[],
    private readonly roots: readonly string[],
    private readonly what: string,
  ) {}

  /**
   * Opens `dir` (made absolute), making its missing folders one at a time, each inside the one
   * before once that is checked: PATH_OUTSIDE_ROOT unless each opened folder, with the names still
   * to make, is inside `roots` (so a missing root is made on the way, as `mkdir -p` would).
   */
  static async open(dir: string, roots: readonly string[], what: string): Promise<ConfinedFolder> {
    const absolute = path.resolve(dir);
    const realRoots = await Promise.all(roots.map((r) => realLocation(path.resolve(r))));
    const cannot = (err: unknown) =>
      new TributaryError('FILE_UNREADABLE', `cannot open or make ${what} ${absolute} (${errno(err)})`, { cause: err });
    const missing: string[] = [];
    let handle: fs.FileHandle | null = null;
    for (let at = absolute; handle === null; at = path.dirname(at)) {
      handle = await fs.open(at, DIRECTORY).catch((err: unknown) => {
        if (errno(err) !== 'ENOENT' || path.dirname(at) === at) throw cannot(err);
        missing.unshift(path.basename(at));
        return null;
      });
    }
    let folder = new ConfinedFolder(absolute, handle, realRoots, roots, what);
    try {
      await folder.confirm(missing);
      for (const [i, name] of missing.entries()) {
        await fs.mkdir(folder.entry(name)).catch((err: unknown) => {
          if (errno(err) !== 'EEXIST') throw cannot(err);
        });
        const child = await fs.open(folder.entry(name), DIRECTORY).catch((err: unknown) => {
          throw cannot(err);
        });
        await folder.close();
        folder = new ConfinedFolder(absolute, child, realRoots, roots, what);
        await folder.confirm(missing.slice(i + 1));
      }
      return folder;
    } catch (err) {
      await folder.close();
      throw err;
    }
  }

  /** The folder's real path now: PATH_OUTSIDE_ROOT when outside the roots, FILE_CHANGED when deleted or moving. */
  check(): Promise<string> {
    return this.confirm([]);
  }

  /** As check(), for the folder `rest` below this one. */
  private async confirm(rest: string[]): Promise<string> {
    const real = await whereNow(this.handle);
    if (real === null) {
      throw new TributaryError('FILE_CHANGED', `${this.what} ${this.path} was moved or deleted while a file was written in it; nothing written`);
    }
    if (!this.inside(path.join(real, ...rest))) throw this.outside(path.join(real, ...rest));
    return real;
  }

  /** `name` in this very folder, wherever it is now (a path through /proc/self/fd). */
  entry(name: string): string {
    return `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  /** Creates the new file `name` here (never following a symlink, never reusing a file) and checks where it is. */
  async create(name: string, mode = 0o644): Promise<fs.FileHandle> {
    const file = await fs.open(this.entry(name), NEW_FILE, mode);
    try {
      await this.locate(file, name);
      return file;
    } catch (err) {
      await this.remove(name, file);
      await file.close();
      throw err;
    }
  }

  /**
   * The real path of the open `file`, once it is `name` in this folder, inside the roots, with no
   * other name (a hard link made to it): else PATH_OUTSIDE_ROOT or FILE_CHANGED.
   */
  async locate(file: fs.FileHandle, name: string): Promise<string> {
    const dir = await this.check();
    const [real, stat] = await Promise.all([procPath(file), file.stat()]);
    if (!this.inside(real)) throw this.outside(real);
    if (real !== path.join(dir, name)) {
      throw new TributaryError('FILE_CHANGED', `${path.join(dir, name)} was moved to ${real} while it was written; not used`);
    }
    if (stat.nlink !== 1) {
      throw new TributaryError('FILE_CHANGED', `${real} got another name (a hard link) while it was written; not used`);
    }
    return real;
  }

  /** Renames `from` to `to` inside this folder (replacing `to`), then makes it durable. */
  async rename(from: string, to: string): Promise<void> {
    await fs.rename(this.entry(from), this.entry(to));
    await this.handle.sync();
  }

  /** Removes `name` from this folder if it still is the open `file` (best effort: after a failure). */
  async remove(name: string, file: fs.FileHandle): Promise<void> {
    const [named, own] = await Promise.all([fs.lstat(this.entry(name)).catch(() => null), file.stat().catch(() => null)]);
    if (named && own && named.dev === own.dev && named.ino === own.ino) await fs.unlink(this.entry(name)).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private inside(real: string): boolean {
    return this.realRoots.some((root) => isWithin(real, root));
  }

  private outside(real: string): TributaryError {
    const allowed = this.roots.length > 0 ? this.roots.join(', ') : 'none';
    return new TributaryError(
      'PATH_OUTSIDE_ROOT',
      `${this.what} ${this.path} led to ${real}, outside the data roots (${allowed}) — a folder or symlink on the way points out or was swapped; nothing written there. Allow a folder with DATA_ROOTS or the DAG's dataRoots`,
    );
  }
}
