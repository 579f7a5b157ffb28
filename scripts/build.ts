/**
 * `npm run build` (run by `prepack`): the package's compiled form in dist/ — JavaScript and .d.ts
 * from tsconfig.build.json, plus every file a module reads by path beside itself (migrations and
 * their journal, the engine's SQL, the dashboard's static files), so dist/ runs without the sources.
 * Starts from an empty dist/; fails when tsc reports an error.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

/** Folders (from the root) copied into dist/ as they are, with the file names each keeps. */
const ASSETS: ReadonlyArray<[folder: string, keep: (name: string) => boolean]> = [
  ['db/migrations', (name) => name.endsWith('.sql') || name === '_journal.json'],
  ['engine/sql', (name) => name.endsWith('.sql')],
  ['dashboard/static', () => true],
];

fs.rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) {
  process.stderr.write(`build: tsc -p tsconfig.build.json failed (exit ${compiled.status ?? compiled.signal}); dist/ is incomplete\n`);
  process.exit(1);
}
let copied = 0;
for (const [folder, keep] of ASSETS) {
  fs.cpSync(path.join(root, folder), path.join(dist, folder), {
    recursive: true,
    filter: (source) => {
      if (fs.statSync(source).isDirectory()) return true;
      const kept = keep(path.basename(source));
      if (kept) copied++;
      return kept;
    },
  });
}
process.stdout.write(`built dist/ (tsc) and copied ${copied} files it reads at run time\n`);
