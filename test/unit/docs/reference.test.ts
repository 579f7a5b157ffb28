/**
 * docs/reference is generated (`npm run docs:gen`): regenerating it in memory must give the
 * committed files byte for byte, and every option of each schema must have its row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dagSchema } from '../../../engine/dag.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import { referencePages } from '../../../scripts/reference/pages.ts';
import { REPO } from '../../support/cli.ts';

const DIR = path.join(REPO, 'docs', 'reference');

describe('docs/reference', { timeout: 60_000 }, () => {
  const pages = referencePages(REPO);

  it('is up to date with the schemas (else run `npm run docs:gen`)', () => {
    expect(fs.readdirSync(DIR).sort()).toEqual([...pages.keys()].sort());
    for (const [name, text] of pages) {
      expect(fs.readFileSync(path.join(DIR, name), 'utf8'), `docs/reference/${name} is stale: run npm run docs:gen`).toBe(text);
    }
  });

  it('has a page per shipped job kind and for the DAG', () => {
    expect([...pages.keys()].sort()).toEqual([...[...builtinKinds().keys()].map((k) => `${k}.md`), 'dag.md'].sort());
  });

  it('lists every top-level option of each object schema, in a row of the Options table', () => {
    const options = (page: string) => {
      const table = page.split('## Options')[1].split('\n## ')[0];
      return [...table.matchAll(/^\| `([^`.]+)` \|/gm)].map((m) => m[1]);
    };
    const objects: Array<[string, z.ZodType]> = [...[...builtinKinds()].map(([k, kind]): [string, z.ZodType] => [`${k}.md`, kind.options]), ['dag.md', dagSchema]];
    let checked = 0;
    for (const [name, schema] of objects) {
      const inner = schema instanceof z.ZodDefault ? schema.unwrap() : schema;
      if (!(inner instanceof z.ZodObject)) continue; // a transformed schema (extract) has no shape to compare
      expect(options(pages.get(name)!), name).toEqual(Object.keys(inner.shape));
      checked += 1;
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });
});
