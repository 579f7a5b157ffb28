/**
 * Walks the source's pages: each request is the rendered URL with the fixed query, the
 * watermark (when there is one) and the pager's parameters; each page is parsed and handed to
 * `onPage` before the next is asked for. Returns request counts for the task's result.
 */
import { TributaryError } from '../../engine/errors.ts';
import type { TaskContext } from '../../engine/types.ts';
import { renderTemplate } from '../templates.ts';
import { fetchText, showUrl, type RequestStats } from './http.ts';
import type { ExtractOptions } from './options.ts';
import { Pager, parsePage, type JsonRecord } from './pages.ts';

export interface WalkResult extends RequestStats {
  pages: number;
}

/** The rendered endpoint URL (before query, watermark and paging parameters). */
export function endpointUrl(options: ExtractOptions, ctx: TaskContext): URL {
  const text = renderTemplate(options.url, ctx);
  try {
    return new URL(text);
  } catch {
    throw new TributaryError('OPTIONS_INVALID', `extract url "${text}" (from "${options.url}") is not an absolute URL`);
  }
}

export async function walkPages(
  ctx: TaskContext,
  options: ExtractOptions,
  base: URL,
  since: string | null,
  onPage: (records: JsonRecord[], where: string) => Promise<void>,
): Promise<WalkResult> {
  const headers = Object.fromEntries(Object.entries(options.request.headers).map(([k, v]) => [k, renderTemplate(v, ctx)]));
  const specs = new Map(options.columns.map((c) => [c.name, c]));
  const keyFields = options.key.map((k) => specs.get(k)?.header ?? k);
  const pager = new Pager(options.paging);
  const stats: RequestStats = { requests: 0, retries: 0, waitedMs: 0 };
  for (let pages = 1; ; pages++) {
    ctx.signal.throwIfAborted();
    const url = new URL(base);
    const params = { ...options.query, ...(options.watermark && since !== null ? { [options.watermark.param]: since } : {}), ...pager.params() };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const where = `GET ${showUrl(url)}`;
    if (pages > options.maxPages) throw new TributaryError('PAGE_MALFORMED', `${where}: the source still pages after maxPages ${options.maxPages}`);
    const text = await fetchText(url, options.request, { signal: ctx.signal, log: ctx.log, headers }, stats);
    const page = parsePage(text, where, options.recordsPath, keyFields, pager.nextPath);
    await onPage(page.records, showUrl(url));
    ctx.log.debug({ url: showUrl(url), records: page.records.length }, 'extract: page staged');
    if (!pager.advance(page, where)) return { pages, ...stats };
  }
}
