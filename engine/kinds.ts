/**
 * Job kinds from a user's project: `defineJobKind` marks a kind; `loadProjectKinds` adds to the
 * shipped kinds every marked kind exported from `<project>/kinds/*.ts` (the folder beside the DAG
 * folder) or from a DAG file. A custom kind is an ordinary JobKind: same context, same transaction,
 * same retries. A name clash or an invalid name is one JOB_KIND_INVALID line naming the file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TributaryError } from './errors.ts';
import type { JobKind } from './types.ts';
import { allowTypeScript } from './typescript.ts';

// Symbol.for: a kind made with another copy of this module (a project's node_modules) is still recognised.
const JOB_KIND = Symbol.for('tributary.jobKind');
const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

/**
 * Marks a custom job kind so the loader finds it among a module's exports: `export const upper =
 * defineJobKind({ … })`. Keeps the options' input type, for `interface TributaryKinds` (engine/kind-options.ts).
 */
export function defineJobKind<Options, Input>(kind: JobKind<Options, Input>): JobKind<Options, Input> {
  return Object.assign(kind, { [JOB_KIND]: true });
}

function isJobKind(value: unknown): value is JobKind {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[JOB_KIND] === true;
}

async function tsFiles(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new TributaryError('JOB_KIND_INVALID', `${dir}: cannot read the folder: ${err.message}`, { cause: err });
  });
  return names.filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')).sort().map((n) => path.join(dir, n));
}

/**
 * The shipped kinds plus the project's. A DAG file that fails to import is skipped here (loadDags
 * reports it); a kinds/ file that fails to import is an error.
 */
export async function loadProjectKinds(dagsDir: string, shipped: ReadonlyMap<string, JobKind>): Promise<Map<string, JobKind>> {
  const kinds = new Map(shipped);
  const from = new Map<string, string>();
  const kindsDir = path.join(path.dirname(path.resolve(dagsDir)), 'kinds');
  for (const [dir, mustImport] of [[kindsDir, true], [dagsDir, false]] as const) {
    for (const file of await tsFiles(dir)) {
      let mod: Record<string, unknown>;
      try {
        await allowTypeScript();
        mod = (await import(pathToFileURL(path.resolve(file)).href)) as Record<string, unknown>;
      } catch (err) {
        if (!mustImport) continue;
        const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
        throw new TributaryError('JOB_KIND_INVALID', `${file}: import failed: ${first}`, { cause: err });
      }
      for (const kind of Object.values(mod).filter(isJobKind)) {
        if (kinds.get(kind.name) === kind) continue; // the same kind re-exported
        const fail = (what: string): never => {
          throw new TributaryError('JOB_KIND_INVALID', `${file}: job kind "${kind.name}": ${what}`);
        };
        if (typeof kind.name !== 'string' || !NAME_PATTERN.test(kind.name)) fail(`name must match ${NAME_PATTERN.source}`);
        if (shipped.has(kind.name)) fail('is a shipped job kind; choose another name');
        if (kinds.has(kind.name)) fail(`also defined in ${from.get(kind.name)}`);
        if (typeof kind.handler !== 'function' || typeof kind.options?.safeParse !== 'function') fail('needs a zod `options` schema and a `handler`');
        kinds.set(kind.name, kind);
        from.set(kind.name, file);
      }
    }
  }
  return kinds;
}
