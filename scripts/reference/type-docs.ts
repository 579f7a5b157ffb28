/**
 * The doc comments of option types, read with the TypeScript checker: the JSDoc written on a zod
 * schema's properties (or an interface's) follows the inferred type, so `z.input<typeof schema>`
 * gives each option its description and `@default` tag, path by path alongside the JSON Schema.
 */
import path from 'node:path';
import ts from 'typescript';

export interface Doc {
  description: string;
  /** The text of an `@default` tag, if any. */
  defaultTag?: string;
}

/** One type to document: `import type { <name> } from '<module>'`, wrapped (e.g. `z.input<typeof X>`). */
export interface TypeSource {
  alias: string;
  module: string;
  name: string;
  /** How the imported name becomes the documented type; `$` stands for the name. */
  wrap: string;
}

export class TypeDocs {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type>();

  /** Builds one program over a virtual file that imports every source (a few seconds). */
  constructor(root: string, sources: readonly TypeSource[]) {
    const entry = path.join(root, 'scripts', '__reference_types__.ts');
    const text = [
      `import type { z } from 'zod';`,
      ...sources.map((s) => `import type { ${s.name} as ${s.alias}__ } from '../${s.module}';`),
      ...sources.map((s) => `export type ${s.alias} = ${s.wrap.replace('$', `${s.alias}__`)};`),
    ].join('\n');
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true, noEmit: true, strict: true, skipLibCheck: true, types: ['node'],
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists } = host;
    host.getSourceFile = (file, language, ...rest) =>
      file === entry ? ts.createSourceFile(file, text, language) : getSourceFile.call(host, file, language, ...rest);
    host.fileExists = (file) => file === entry || fileExists.call(host, file);
    const program = ts.createProgram([entry], options, host);
    this.checker = program.getTypeChecker();
    const module = this.checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const symbol of this.checker.getExportsOfModule(module)) {
      this.types.set(symbol.name, this.checker.getDeclaredTypeOfSymbol(symbol));
    }
  }

  type(alias: string): ts.Type {
    const type = this.types.get(alias);
    if (!type) throw new Error(`no type ${alias}`);
    return type;
  }

  /** The doc of property `name` of `type` (any member of a union that has it). */
  property(type: ts.Type | undefined, name: string): { doc: Doc; type?: ts.Type } {
    const symbol = type && this.members(type).map((t) => t.getProperty(name)).find(Boolean);
    if (!symbol) return { doc: { description: '' } };
    const tag = symbol.getJsDocTags(this.checker).find((t) => t.name === 'default');
    return {
      doc: {
        description: ts.displayPartsToString(symbol.getDocumentationComment(this.checker)).replace(/\s*\n\s*/g, ' ').trim(),
        ...(tag && { defaultTag: ts.displayPartsToString(tag.text).replace(/\s*\n\s*/g, ' ').trim() }),
      },
      type: this.checker.getNonNullableType(this.checker.getTypeOfSymbol(symbol)),
    };
  }

  /** The element type of an array type, or the value type of a record. */
  element(type: ts.Type | undefined, of: 'array' | 'record'): ts.Type | undefined {
    if (!type) return undefined;
    const kind = of === 'array' ? ts.IndexKind.Number : ts.IndexKind.String;
    const found = this.members(type).map((t) => this.checker.getIndexTypeOfType(t, kind)).find(Boolean);
    return found && this.checker.getNonNullableType(found);
  }

  /** The union member whose properties include every one of `names` (the variant of a JSON Schema anyOf). */
  variant(type: ts.Type | undefined, names: readonly string[], discriminator?: { name: string; value: unknown }): ts.Type | undefined {
    if (!type) return undefined;
    return this.members(type).find((t) => {
      if (!names.every((n) => t.getProperty(n))) return false;
      if (!discriminator) return true;
      const d = t.getProperty(discriminator.name);
      const literal = d && this.checker.getTypeOfSymbol(d);
      return literal !== undefined && literal.isLiteral() && literal.value === discriminator.value;
    });
  }

  private members(type: ts.Type): ts.Type[] {
    return type.isUnion() ? type.types : [type];
  }
}
