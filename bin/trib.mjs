#!/usr/bin/env node
// `trib`: runs the CLI. In an installed package that is the compiled dist/cli/main.js (no tsx until
// a DAG file is imported, engine/typescript.ts). In a checkout (cli/main.ts is here; a dist/ left by
// `npm pack` is ignored, so it is never stale) it is the source through tsx, with the
// `tributary-source` export condition, so a DAG importing `tributary` gets this source too.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const source = new URL('../cli/main.ts', import.meta.url);
let entry = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(source)) {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  register(
    'data:text/javascript,export const resolve = (s, c, next) => next(s, { ...c, conditions: [...c.conditions, "tributary-source"] });',
  );
  entry = source;
}
const { main } = await import(entry.href);
await main(process.argv);
