#!/usr/bin/env node
// `trib`: registers tsx (TypeScript ESM, no build step), then runs the CLI in cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../cli/main.ts', import.meta.url).href);
await main(process.argv);
