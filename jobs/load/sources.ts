/**
 * Which files a load task reads: a path, a glob (wildcards `*` `?` in the file name only), or the
 * list an upstream task returned (or this mapped instance's item). `{yyyymmdd}`, `{date}`, `{yyyy}`,
 * `{mm}`, `{dd}` and `{params.x}` in paths and the partition value are rendered (jobs/templates.ts).
 * Every path — the glob's folder and each file — must be inside ctx.dataRoots (jobs/paths.ts); the
 * load checks the opened file again (openConfined), so a swap after this check leads nowhere.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { TributaryError } from '../../engine/errors.ts';
import type { Json, TaskContext } from '../../engine/types.ts';
import type { LoadOptions } from './options.ts';
import { confinePath } from '../paths.ts';
import { renderTemplate } from '../templates.ts';

export interface SourceFile {
  path: string;
  /** Partition value for this file (the mapped item's, else the options'). */
  partition?: string;
  /** Size and mtime when an upstream task (a sensor) took the file: the load refuses a file changed since. */
  seen?: { bytes: number; mtimeMs: number };
}

function globToRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${source}$`);
}

/** Files matching a glob whose wildcards are in the last path segment, sorted by name. */
export async function expandGlob(pattern: string): Promise<string[]> {
  const dir = path.dirname(pattern);
  if (/[*?]/.test(dir)) throw new TributaryError('OPTIONS_INVALID', `glob ${pattern}: wildcards are only allowed in the file name`);
  const re = globToRegExp(path.basename(pattern));
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new TributaryError('FILE_UNREADABLE', `glob ${pattern}: cannot list ${dir} (${err.code ?? err.message})`, { cause: err });
  });
  return entries.filter((e) => e.isFile() && re.test(e.name)).map((e) => path.join(dir, e.name)).sort();
}

function dig(value: Json, dotted: string | undefined): Json | undefined {
  if (!dotted) return value;
  let cur: Json | undefined = value;
  for (const key of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

function toSource(item: Json | undefined, where: string): SourceFile {
  if (typeof item === 'string' && item !== '') return { path: item };
  if (item && typeof item === 'object' && !Array.isArray(item) && typeof item.path === 'string') {
    const partition = item.partition;
    if (partition !== undefined && typeof partition !== 'string') {
      throw new TributaryError('SOURCE_MALFORMED', `${where}: partition must be a string`);
    }
    const { bytes, mtimeMs } = item;
    const seen = typeof bytes === 'number' && typeof mtimeMs === 'number' ? { seen: { bytes, mtimeMs } } : {};
    return { path: item.path, partition, ...seen };
  }
  throw new TributaryError('SOURCE_MALFORMED', `${where}: expected a path or {path, partition?}, got ${JSON.stringify(item)}`);
}

/** The files this task loads, in order, each with its rendered path and partition value. */
export async function resolveSources(ctx: TaskContext, options: LoadOptions): Promise<SourceFile[]> {
  const render = (s: string) => renderTemplate(s, ctx);
  const partition = options.partition ? render(options.partition.value) : undefined;
  let files: SourceFile[];
  const source = options.source;
  if ('file' in source) files = [{ path: source.file }];
  else if ('glob' in source) {
    const pattern = path.resolve(render(source.glob));
    await confinePath(path.dirname(pattern), ctx.dataRoots, 'load glob folder');
    files = (await expandGlob(pattern)).map((p) => ({ path: p }));
    if (files.length === 0) throw new TributaryError('FILE_NOT_FOUND', `no file matches ${pattern}`);
  } else {
    const { task, path: dotted } = source.fromUpstream;
    if (ctx.mapIndex >= 0 && ctx.mapItem !== undefined) {
      files = [toSource(ctx.mapItem, `mapped item ${ctx.mapIndex} of ${task}`)];
    } else {
      const value = task in ctx.upstream ? dig(ctx.upstream[task], dotted) : undefined;
      const where = `result of upstream task ${task}${dotted ? ` at ${dotted}` : ''}`;
      if (value === undefined) throw new TributaryError('SOURCE_MALFORMED', `${where} is missing`);
      files = (Array.isArray(value) ? value : [value]).map((item, i) => toSource(item, `${where}[${i}]`));
    }
  }
  const confined: SourceFile[] = [];
  for (const f of files) {
    const confinedPath = await confinePath(render(f.path), ctx.dataRoots, 'load source');
    confined.push({ path: confinedPath, partition: f.partition ?? partition, ...(f.seen ? { seen: f.seen } : {}) });
  }
  return confined;
}
