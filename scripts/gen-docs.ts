/**
 * `npm run docs:gen`: writes docs/reference/*.md from the zod schemas and their doc comments
 * (scripts/reference/pages.ts). test/unit/docs/reference.test.ts fails when they are stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { referencePages } from './reference/pages.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = path.join(root, 'docs', 'reference');
fs.mkdirSync(dir, { recursive: true });
const pages = referencePages(root);
for (const [name, text] of pages) fs.writeFileSync(path.join(dir, name), text);
process.stdout.write(`wrote ${pages.size} pages to ${path.relative(root, dir)}: ${[...pages.keys()].join(', ')}\n`);
// Options still without a doc comment (an empty last cell): where the schemas need one.
const undocumented = [...pages].map(([name, text]) => [name, text.match(/^\| `.*\|  \|$/gm)?.length ?? 0] as const).filter(([, n]) => n > 0);
if (undocumented.length > 0) process.stdout.write(`options without a description: ${undocumented.map(([name, n]) => `${name} ${n}`).join(', ')}\n`);
