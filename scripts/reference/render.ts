/**
 * Markdown reference pages from a zod schema: `z.toJSONSchema` (input side) gives every option's
 * type, required flag and default; TypeDocs gives its description. Nested objects are flattened
 * (`rejectLimit.warn.ratio`); lists and unions of objects get a section each.
 */
import type ts from 'typescript';
import { z } from 'zod';
import type { Doc, TypeDocs } from './type-docs.ts';

interface Node {
  type?: string | string[];
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  $ref?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  format?: string;
}

interface Section {
  title: string;
  rows: string[][];
}

export function jsonSchemaOf(schema: z.ZodType): Node {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Node;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const variantsOf = (node: Node) => node.anyOf ?? node.oneOf;
const isObject = (node: Node | undefined): node is Node => !!node && (node.properties !== undefined || (variantsOf(node)?.some(isObject) ?? false));

/** `integer ≥ 1`, `"a" | "b"`, `string[]`, `Record<string, string[]>`, … */
export function typeOf(node: Node): string {
  if (node.$ref) return 'JSON';
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  const variants = variantsOf(node);
  if (variants) return [...new Set(variants.map(typeOf))].join(' | ');
  if (node.type === 'array') {
    const item = node.items ? typeOf(node.items) : 'any';
    return item.includes(' ') ? `(${item})[]` : `${item}[]`;
  }
  if (node.type === 'object') {
    if (node.properties) return 'object';
    return typeof node.additionalProperties === 'object' ? `Record<string, ${typeOf(node.additionalProperties)}>` : 'object';
  }
  if (node.type === 'integer' || node.type === 'number') {
    const max = node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? node.maximum : undefined;
    if (node.minimum !== undefined && max !== undefined) return `${node.type} ${node.minimum}…${max}`;
    const bounds = [
      node.minimum !== undefined && `≥ ${node.minimum}`,
      node.exclusiveMinimum !== undefined && `> ${node.exclusiveMinimum}`,
      max !== undefined && `≤ ${max}`,
    ].filter(Boolean);
    return [node.type, ...bounds].join(' ');
  }
  if (Array.isArray(node.type)) return node.type.join(' | ');
  if (node.type === 'string' && node.format) return `string (${node.format})`;
  return node.type ?? 'any';
}

function defaultOf(node: Node, doc: Doc): string {
  if (node.default !== undefined) return `\`${JSON.stringify(node.default)}\``;
  return doc.defaultTag ?? '';
}

class Pages {
  readonly sections: Section[] = [];
  constructor(private readonly docs: TypeDocs) {}

  /** The options of an object (or of each object of a union) at `path` ('' = the top), and what hangs below. */
  object(node: Node, type: ts.Type | undefined, path: string, variant = ''): void {
    if (node.properties) {
      const title = path === '' ? 'Options' : `\`${path}\`${variant && ` — ${variant}`}`;
      const section: Section = { title, rows: [] };
      this.sections.push(section);
      this.rows(node, type, path, '', section);
      return;
    }
    const objects = (variantsOf(node) ?? []).filter((v) => v.properties);
    const discriminator = Object.keys(objects[0]?.properties ?? {}).find((key) => objects.every((v) => v.properties?.[key]?.const !== undefined));
    const types = objects.map((variant) => {
      const value = discriminator && variant.properties![discriminator].const;
      return this.docs.variant(type, Object.keys(variant.properties!), discriminator ? { name: discriminator, value } : undefined);
    });
    // Options every variant has alike (e.g. a column's name, required, coerce) are listed once.
    const shared = discriminator ? Object.keys(objects[0].properties!).filter((key) =>
      key !== discriminator && objects.every((v) => JSON.stringify(v.properties![key]) === JSON.stringify(objects[0].properties![key]))) : [];
    if (shared.length > 0) this.object(pick(objects[0], shared, true), types[0], path, `every ${discriminator}`);
    objects.forEach((variant, i) => {
      const names = Object.keys(variant.properties!);
      const which = discriminator ? `${discriminator}: ${JSON.stringify(variant.properties![discriminator].const)}` : `form ${i + 1} (${(variant.required ?? names).join(', ')})`;
      this.object(pick(variant, shared, false), types[i], path, which);
    });
  }

  private rows(node: Node, type: ts.Type | undefined, path: string, prefix: string, section: Section): void {
    for (const [name, prop] of Object.entries(node.properties ?? {})) {
      const { doc, type: propType } = this.docs.property(type, name);
      const at = `${prefix}${name}`;
      const full = path ? `${path}.${at}` : at;
      const required = node.required?.includes(name) ? 'yes' : '';
      section.rows.push([`\`${at}\``, cell(typeOf(prop)), required, cell(defaultOf(prop, doc)), cell(doc.description)]);
      if (prop.properties) {
        this.rows(prop, propType, path, `${at}.`, section);
      } else if (prop.type === 'array' && isObject(prop.items)) {
        this.object(prop.items, this.docs.element(propType, 'array'), `${full}[]`);
      } else if (typeof prop.additionalProperties === 'object' && isObject(prop.additionalProperties)) {
        this.object(prop.additionalProperties, this.docs.element(propType, 'record'), `${full}.<name>`);
      } else if (isObject(prop)) {
        this.object(prop, propType, full);
      }
    }
  }
}

/** `node` with only (`keep`) or without (`!keep`) the properties `names`. */
function pick(node: Node, names: readonly string[], keep: boolean): Node {
  const properties = Object.fromEntries(Object.entries(node.properties ?? {}).filter(([key]) => names.includes(key) === keep));
  return { ...node, properties, required: node.required?.filter((key) => key in properties) };
}

/** One page: a heading, a note, an intro, and a table per section. */
export function renderPage(opts: { heading: string; source: string; intro: string; node: Node; type: ts.Type; docs: TypeDocs }): string {
  const pages = new Pages(opts.docs);
  pages.object(opts.node, opts.type, '');
  const out = [
    `# ${opts.heading}`,
    '',
    `<!-- generated by \`npm run docs:gen\` from ${opts.source} and its doc comments: edit those, not this file -->`,
    '',
    opts.intro,
  ];
  for (const section of pages.sections) {
    out.push('', `## ${section.title}`, '', '| option | type | required | default | description |', '| --- | --- | --- | --- | --- |');
    for (const row of section.rows) out.push(`| ${row.join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}
