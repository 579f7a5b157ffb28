/**
 * Reading one page body and walking the pages. `parsePage` returns the records and the next
 * page/cursor, or throws PAGE_MALFORMED (not JSON, records not an array, a record that is not an
 * object or has no key value, a next page that is not a page). `Pager` gives each request's
 * paging parameters and decides from a page whether another follows.
 */
import { TributaryError } from '../../engine/errors.ts';
import type { Paging } from './options.ts';

export type JsonRecord = Record<string, unknown>;

export interface Page {
  records: JsonRecord[];
  /** The next page number or cursor as the body gave it; undefined when the body does not say. */
  next: unknown;
}

function malformed(where: string, message: string): TributaryError {
  return new TributaryError('PAGE_MALFORMED', `${where}: ${message}`);
}

/** The value at a dotted path ('' = the value itself); undefined when a step is missing. */
export function atPath(value: unknown, path: string): unknown {
  if (path === '') return value;
  let at = value;
  for (const step of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as JsonRecord)[step];
  }
  return at;
}

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/**
 * @param keyFields the record fields that hold the key; each must be present and not null or ''
 * @param nextPath  where the body gives the next page or cursor, if it does
 */
export function parsePage(text: string, where: string, recordsPath: string, keyFields: readonly string[], nextPath?: string): Page {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw malformed(where, `the body is not JSON (${(err as Error).message}; starts ${JSON.stringify(text.slice(0, 40))})`);
  }
  const records = atPath(body, recordsPath);
  if (!Array.isArray(records)) throw malformed(where, `records at "${recordsPath || '(body)'}" are ${kindOf(records)}, not an array`);
  records.forEach((record: unknown, i) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw malformed(where, `record ${i + 1} is ${kindOf(record)}, not an object`);
    for (const field of keyFields) {
      const v = (record as JsonRecord)[field];
      if (v === undefined || v === null || v === '') throw malformed(where, `record ${i + 1} has no key value "${field}"`);
    }
  });
  return { records: records as JsonRecord[], next: nextPath === undefined ? undefined : atPath(body, nextPath) };
}

/** Paging state across one extract. */
export class Pager {
  private page: number;
  private cursor: string | null = null;
  readonly nextPath?: string;

  constructor(private readonly paging: Paging) {
    this.page = paging.style === 'page' ? paging.firstPage : 0;
    this.nextPath = paging.style === 'page' ? paging.nextPagePath : paging.nextCursorPath;
  }

  /** Query parameters of the current request. */
  params(): Record<string, string> {
    const p = this.paging;
    if (p.style === 'page') return { [p.pageParam]: String(this.page), [p.sizeParam]: String(p.size) };
    return { ...(p.sizeParam ? { [p.sizeParam]: String(p.size) } : {}), ...(this.cursor === null ? {} : { [p.cursorParam]: this.cursor }) };
  }

  /** Moves past `page`; false when it was the last. */
  advance(page: Page, where: string): boolean {
    const p = this.paging;
    if (p.style === 'page' && p.nextPagePath === undefined) {
      this.page++;
      return page.records.length >= p.size;
    }
    if (page.next === undefined || page.next === null || page.next === '') return false;
    if (p.style === 'page') {
      if (typeof page.next !== 'number' || !Number.isInteger(page.next) || page.next <= this.page) {
        throw malformed(where, `next page ${JSON.stringify(page.next)} at "${p.nextPagePath}" is not a page after ${this.page}`);
      }
      this.page = page.next;
      return true;
    }
    if (typeof page.next !== 'string' && typeof page.next !== 'number') throw malformed(where, `next cursor at "${p.nextCursorPath}" is ${kindOf(page.next)}`);
    if (String(page.next) === this.cursor) throw malformed(where, `next cursor ${JSON.stringify(page.next)} repeats the current one`);
    this.cursor = String(page.next);
    return true;
  }
}
