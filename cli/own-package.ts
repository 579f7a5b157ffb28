/**
 * This package's own folder and package.json, found upward from this module: the checkout's root
 * when it runs from source (cli/), the installed package's root when it runs compiled (dist/cli/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OwnPackage {
  version: string;
  allowScripts: Record<string, boolean>;
  devDependencies: Record<string, string>;
}

/** The nearest folder above this module holding a package.json (dist/ has none of its own). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

export function ownPackage(): OwnPackage {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as OwnPackage;
}
