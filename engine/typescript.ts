/**
 * User TypeScript (DAG files, kinds/) needs a loader. Running from source (this checkout under tsx
 * or vitest) one already runs; running compiled (dist/, an installed package) `allowTypeScript`
 * registers tsx once, the first time a project file is about to be imported — so commands that
 * import none (`trib --help`) never start it.
 */
let registered: Promise<void> | undefined;

export function allowTypeScript(): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return Promise.resolve();
  registered ??= import('tsx/esm/api').then(({ register }) => void register());
  return registered;
}
