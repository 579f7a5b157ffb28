/**
 * The package as a user gets it: `npm pack` of this checkout (its prepack builds dist/), a project
 * made by this checkout's `trib init` depending on the tarball, and `npm install` there (packages
 * from the npm cache when it has them, else the registry). Slow (about a minute): for
 * test/integration/cli/package.test.ts and bench/cli.ts, which each make one and share it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './cli.ts';

const run = promisify(execFile);

export interface InstalledProject {
  /** The project folder (package.json, dags/example.ts, node_modules/tributary from the tarball). */
  dir: string;
  tarball: string;
  /** Its `node_modules/.bin/trib`. */
  trib: string;
}

/** npm's environment: this one without NODE_ENV (`production` would leave out the project's typescript). */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_ENV;
  return env;
}

/** Packs this checkout into `root` and makes `root/project` from it. */
export async function installPackedProject(root: string): Promise<InstalledProject> {
  const env = npmEnv();
  await run('npm', ['pack', '--pack-destination', root], { cwd: REPO, env, timeout: 400_000 });
  const name = (await fs.readdir(root)).find((f) => f.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack left no tarball in ${root}`);
  const tarball = path.join(root, name);
  const dir = path.join(root, 'project');
  await run(process.execPath, [path.join(REPO, 'bin', 'trib.mjs'), 'init', dir, '--tributary', `file:${tarball}`], { env });
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, env, timeout: 400_000 });
  return { dir, tarball, trib: path.join(dir, 'node_modules', '.bin', 'trib') };
}
