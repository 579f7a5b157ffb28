/**
 * Walks the source's pages: each request is the rendered URL with the fixed query, the
 * watermark (when there is one) and the pager's parameters; each page is parsed and handed to
 * `onPage` before the next is asked for. Returns request counts for the task's result.
 */
import { httpAccess, processConnections } from '../../engine/connections.ts';
import { TributaryError } from '../../engine/errors.ts';
import type { TaskContext } from '../../engine/types.ts';
import { renderTemplate } from '../templates.ts';
import { fetchText, showUrl, type RequestStats } from './http.ts';
import type { ExtractOptions } from './options.ts';
import { Pager, parsePage, type JsonRecord } from './pages.ts';

export interface WalkResult extends RequestStats {
  pages: number;
}

/** Where requests go: the rendered endpoint URL (before query, watermark and paging parameters) and the connection's auth headers. */
export interface Endpoint {
  url: URL;
  /** From the http connection's credentials (may hold secrets: never logged). */
  headers: Record<string, string>;
}

/**
 * The endpoint: `url` rendered, absolute — or, with `connection`, a path under that connection's
 * URL (which must stay on its origin: its credentials go to no other host).
 */
export function endpointOf(options: ExtractOptions, ctx: TaskContext): Endpoint {
  const text = renderTemplate(options.url, ctx);
  if (options.connection === undefined) {
    if (!URL.canParse(text)) throw new TributaryError('OPTIONS_INVALID', `extract url "${text}" (from "${options.url}") is not an absolute URL`);
    return { url: new URL(text), headers: {} };
  }
  const { base, headers } = httpAccess(processConnections().get(options.connection, 'http'));
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const under = text.replace(/^\/+/, ''); // `/accounts` too is under the base, not at the host's root
  const url = URL.canParse(under, base) ? new URL(under, base) : null;
  if (url === null || url.origin !== base.origin) {
    throw new TributaryError('OPTIONS_INVALID', `extract url "${text}" (from "${options.url}") must be a path under connection "${options.connection}" (${showUrl(base)})`);
  }
  return { url, headers };
}

export async function walkPages(
  ctx: TaskContext,
  options: ExtractOptions,
  endpoint: Endpoint,
  since: string | null,
  onPage: (records: JsonRecord[], where: string) => Promise<void>,
): Promise<WalkResult> {
  const headers = { ...Object.fromEntries(Object.entries(options.request.headers).map(([k, v]) => [k, renderTemplate(v, ctx)])), ...endpoint.headers };
  const specs = new Map(options.columns.map((c) => [c.name, c]));
  const keyFields = options.key.map((k) => specs.get(k)?.header ?? k);
  const pager = new Pager(options.paging);
  const stats: RequestStats = { requests: 0, retries: 0, waitedMs: 0 };
  for (let pages = 1; ; pages++) {
    ctx.signal.throwIfAborted();
    const url = new URL(endpoint.url);
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
