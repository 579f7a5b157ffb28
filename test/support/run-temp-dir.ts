/**
 * One temp folder per `vitest run`, and proof that the run leaves nothing in it. Global setup
 * points TMPDIR at a fresh folder, so os.tmpdir() of the setup, of every test worker (forked after
 * setup, with its env) and of every child they spawn is that folder; teardown lists what is still
 * there, removes the folder, and throws naming the leftovers.
 *
 * A folder of its own, not a before/after listing of the shared temp folder: other runs on the same
 * machine create and remove entries there meanwhile, which a listing cannot tell from this run's.
 * A run killed before its teardown (SIGKILL, a crash) cannot remove its folder: each folder names
 * its owner's pid, and the next run's setup removes the folders whose owner is gone.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** What tools keep in the temp folder on purpose: tsx's compile cache (tsx-<uid>); the owner file. */
const CACHES = [/^tsx-\d+$/, /^owner\.pid$/];
const PREFIX = 'tributary-test-run-';
const OWNER = 'owner.pid';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the run folders in `parent` whose owner process is gone; returns their names. A folder
 * without an owner file is left alone (a run still setting up, or not ours to judge).
 */
export async function sweepDeadRuns(parent: string): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await fs.readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const owner = Number(await fs.readFile(path.join(parent, name, OWNER), 'utf8').catch(() => 'NaN'));
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    await fs.rm(path.join(parent, name), { recursive: true, force: true });
    swept.push(name);
  }
  return swept;
}

export interface RunTempDir {
  dir: string;
  /** Restores TMPDIR, removes the folder; throws naming each entry left in it (size included). */
  finish(): Promise<void>;
}

async function bytes(entry: string): Promise<number> {
  const stat = await fs.lstat(entry).catch(() => null);
  if (!stat?.isDirectory()) return stat?.size ?? 0;
  let sum = 0;
  for (const name of await fs.readdir(entry).catch(() => [])) sum += await bytes(path.join(entry, name));
  return sum;
}

export async function useRunTempDir(): Promise<RunTempDir> {
  const previous = process.env.TMPDIR;
  const swept = await sweepDeadRuns(os.tmpdir());
  if (swept.length > 0) console.warn(`removed ${swept.length} temp folder(s) of killed test runs: ${swept.join(', ')}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), PREFIX));
  await fs.chmod(dir, 0o711); // as root, Postgres runs as `postgres` and keeps data dirs below it
  await fs.writeFile(path.join(dir, OWNER), String(process.pid));
  process.env.TMPDIR = dir;
  return {
    dir,
    async finish() {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      const left = (await fs.readdir(dir)).filter((name) => !CACHES.some((cache) => cache.test(name))).sort();
      const named = await Promise.all(left.map(async (name) => `${name} (${(await bytes(path.join(dir, name))) >> 10} KiB)`));
      await fs.rm(dir, { recursive: true, force: true });
      if (left.length > 0) {
        throw new Error(`the test run left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in its temp folder ${dir} ` +
          `(removed now): ${named.join(', ')}; whatever creates them must remove them, also when a test fails`);
      }
    },
  };
}
