/**
 * Every page of docs/reference: one per shipped job kind (its options schema) and dag.md (the DAG
 * definition), by file name → markdown, each followed by its hand-written sections (docs/notes/<page>/*.md).
 * Pure: `npm run docs:gen` writes them, a test compares them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dagSchema } from '../../engine/dag.ts';
import { builtinKinds } from '../../jobs/index.ts';
import { jsonSchemaOf, renderPage } from './render.ts';
import { TypeDocs, type TypeSource } from './type-docs.ts';

/** Where each shipped kind's options schema is exported (its doc comments live there). */
const KIND_SOURCES: Record<string, { module: string; name: string; about: string }> = {
  sensor: { module: 'jobs/sensor/index.ts', name: 'sensorOptions', about: 'jobs/sensor/index.ts' },
  load: { module: 'jobs/load/options.ts', name: 'loadOptions', about: 'jobs/load/index.ts' },
  validate: { module: 'jobs/validate/options.ts', name: 'validateOptions', about: 'jobs/validate/index.ts' },
  reconcile: { module: 'jobs/reconcile/options.ts', name: 'reconcileOptions', about: 'jobs/reconcile/index.ts' },
  report: { module: 'jobs/report/options.ts', name: 'reportOptions', about: 'jobs/report/index.ts' },
  extract: { module: 'jobs/extract/options.ts', name: 'extractOptions', about: 'jobs/extract/index.ts' },
  noop: { module: 'jobs/noop/index.ts', name: 'noopOptions', about: 'jobs/noop/index.ts' },
};

/** The first doc comment of a module, as plain text. */
function moduleComment(root: string, file: string): string {
  const match = /^\/\*\*([\s\S]*?)\*\//.exec(fs.readFileSync(path.join(root, file), 'utf8'));
  return (match?.[1] ?? '').split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join(' ').replace(/\s+/g, ' ').trim();
}

/**
 * The hand-written sections of a page: docs/notes/<page>/*.md in name order, appended after the
 * generated tables, each marked with the file to edit.
 */
function notes(root: string, page: string): string {
  const name = page.replace(/\.md$/, '');
  const dir = path.join(root, 'docs', 'notes', name);
  if (!fs.existsSync(dir)) return '';
  return fs.readdirSync(dir).filter((f) => f.endsWith('.md')).sort()
    .map((f) => `\n<!-- hand-written in docs/notes/${name}/${f}: edit it there -->\n\n${fs.readFileSync(path.join(dir, f), 'utf8').trimEnd()}\n`)
    .join('');
}

export function referencePages(root: string): Map<string, string> {
  const kinds = builtinKinds();
  const missing = [...kinds.keys()].filter((kind) => !(kind in KIND_SOURCES));
  if (missing.length > 0) throw new Error(`scripts/reference/pages.ts: no KIND_SOURCES entry for kind(s) ${missing.join(', ')}`);
  const sources: TypeSource[] = [
    ...Object.entries(KIND_SOURCES).map(([kind, s]) => ({ alias: `Kind_${kind}`, module: s.module, name: s.name, wrap: 'z.input<typeof $>' })),
    { alias: 'Dag', module: 'engine/types.ts', name: 'DagSpec', wrap: '$' },
  ];
  const docs = new TypeDocs(root, sources);
  const pages = new Map<string, string>();
  for (const [kind, source] of Object.entries(KIND_SOURCES)) {
    pages.set(`${kind}.md`, renderPage({
      heading: `Job kind \`${kind}\``,
      source: `\`${source.name}\` in ${source.module}`,
      intro: `${moduleComment(root, source.about)}\n\nA task uses it with \`{ kind: '${kind}', options: { … } }\`; the options below are checked when the DAG is loaded. See [the guide](../guide.md) and [the DAG reference](dag.md).`,
      node: jsonSchemaOf(kinds.get(kind)!.options),
      type: docs.type(`Kind_${kind}`),
      docs,
    }));
  }
  const kindLinks = Object.keys(KIND_SOURCES).map((kind) => `[\`${kind}\`](${kind}.md)`).join(', ');
  pages.set('dag.md', renderPage({
    heading: 'DAG definition',
    source: '`dagSchema` in engine/dag.ts and `DagSpec` in engine/types.ts',
    intro: `A DAG file's default export: \`export default defineDag({ … })\`. Each task's \`options\` are those of its job kind: ${kindLinks}. Templates in paths and patterns: \`{yyyymmdd}\`, \`{yyyy-mm-dd}\` (alias \`{date}\`), \`{yyyy}\`, \`{mm}\`, \`{dd}\` from the logical date, and \`{params.<name>}\` from a declared run param.`,
    node: jsonSchemaOf(dagSchema),
    type: docs.type('Dag'),
    docs,
  }));
  for (const [name, text] of pages) pages.set(name, text + notes(root, name));
  return pages;
}
