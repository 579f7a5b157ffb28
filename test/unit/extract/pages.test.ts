import { describe, expect, it } from 'vitest';
import { extractOptions } from '../../../jobs/extract/options.ts';
import { atPath, Pager, parsePage } from '../../../jobs/extract/pages.ts';

const WHERE = 'GET http://api/x?page=2';

function paging(raw: object) {
  return extractOptions.parse({ url: 'http://api/x', target: 't', key: ['id'], columns: [{ name: 'id', type: 'text' }], paging: raw }).paging;
}

function malformed(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toMatchObject({ code: 'PAGE_MALFORMED' });
    return (err as Error).message;
  }
  throw new Error('expected PAGE_MALFORMED');
}

describe('parsePage', () => {
  it('returns the records at the path and the next value', () => {
    const text = JSON.stringify({ result: { items: [{ id: 'a' }, { id: 2 }] }, meta: { next: 'c2' } });
    expect(parsePage(text, WHERE, 'result.items', ['id'], 'meta.next')).toEqual({ records: [{ id: 'a' }, { id: 2 }], next: 'c2' });
    expect(parsePage('[{"id":"a"}]', WHERE, '', ['id'])).toEqual({ records: [{ id: 'a' }], next: undefined });
    expect(parsePage('{"data":[]}', WHERE, 'data', ['id'], 'next_page').next).toBeUndefined();
  });

  it('refuses a body that is not JSON, naming the request', () => {
    const message = malformed(() => parsePage('{"data": [{"id": 1}', WHERE, 'data', ['id']));
    expect(message).toMatch(/^GET http:\/\/api\/x\?page=2: the body is not JSON/);
    expect(malformed(() => parsePage('<html>busy</html>', WHERE, 'data', ['id']))).toContain('starts "<html>busy</html>"');
  });

  it('refuses records that are not an array of objects', () => {
    expect(malformed(() => parsePage('{"data":{"id":1}}', WHERE, 'data', ['id']))).toContain('records at "data" are object, not an array');
    expect(malformed(() => parsePage('{"items":[]}', WHERE, 'data', ['id']))).toContain('are undefined');
    expect(malformed(() => parsePage('{"data":null}', WHERE, 'data.rows', ['id']))).toContain('"data.rows" are undefined');
    expect(malformed(() => parsePage('{"data":[{"id":1}, 7]}', WHERE, 'data', ['id']))).toContain('record 2 is number, not an object');
    expect(malformed(() => parsePage('{"data":[[1]]}', WHERE, 'data', ['id']))).toContain('record 1 is an array');
  });

  it('refuses a record without a key value (absent, null or empty)', () => {
    for (const bad of ['{}', '{"id":null}', '{"id":""}']) {
      expect(malformed(() => parsePage(`{"data":[{"id":"a","k":1},${bad}]}`, WHERE, 'data', ['id', 'k']))).toMatch(/record 2 has no key value "(id|k)"/);
    }
    expect(parsePage('{"data":[{"id":0,"k":false}]}', WHERE, 'data', ['id', 'k']).records).toHaveLength(1);
  });

  it('atPath walks objects only', () => {
    expect(atPath({ a: { b: [1] } }, 'a.b')).toEqual([1]);
    expect(atPath({ a: [{ b: 1 }] }, 'a.b')).toBeUndefined();
    expect(atPath(5, '')).toBe(5);
  });
});

describe('Pager', () => {
  const page = (n: number, next?: unknown) => ({ records: Array.from({ length: n }, (_, i) => ({ id: i })), next });

  it('page numbers without a next field: stops at a short page', () => {
    const p = new Pager(paging({ style: 'page', size: 3 }));
    expect(p.params()).toEqual({ page: '1', page_size: '3' });
    expect(p.advance(page(3), WHERE)).toBe(true);
    expect(p.params()).toEqual({ page: '2', page_size: '3' });
    expect(p.advance(page(2), WHERE)).toBe(false);
  });

  it('page numbers from the body, with configurable names and first page', () => {
    const p = new Pager(paging({ style: 'page', pageParam: 'p', sizeParam: 'n', size: 50, firstPage: 0, nextPagePath: 'next_page' }));
    expect(p.params()).toEqual({ p: '0', n: '50' });
    expect(p.advance(page(1, 1), WHERE)).toBe(true);
    expect(p.params()).toEqual({ p: '1', n: '50' });
    expect(p.advance(page(50, null), WHERE)).toBe(false);
    expect(new Pager(paging({ style: 'page', nextPagePath: 'next_page' })).advance(page(100, undefined), WHERE)).toBe(false);
  });

  it('refuses a next page that does not move forward', () => {
    const p = new Pager(paging({ style: 'page', nextPagePath: 'next_page' }));
    expect(malformed(() => p.advance(page(1, 1), WHERE))).toContain('next page 1 at "next_page" is not a page after 1');
    expect(malformed(() => p.advance(page(1, '2'), WHERE))).toContain('next page "2"');
  });

  it('cursors: none on the first request, then the body\'s; a repeat or an object is malformed', () => {
    const p = new Pager(paging({ style: 'cursor', nextCursorPath: 'meta.next', cursorParam: 'after', sizeParam: 'limit', size: 10 }));
    expect(p.params()).toEqual({ limit: '10' });
    expect(p.advance(page(10, 'abc'), WHERE)).toBe(true);
    expect(p.params()).toEqual({ limit: '10', after: 'abc' });
    expect(p.advance(page(10, 42), WHERE)).toBe(true);
    expect(p.params()).toEqual({ limit: '10', after: '42' });
    expect(malformed(() => p.advance(page(10, 42), WHERE))).toContain('repeats the current one');
    expect(malformed(() => p.advance(page(10, { c: 1 }), WHERE))).toContain('is object');
    expect(p.advance(page(3, ''), WHERE)).toBe(false);
    const bare = new Pager(paging({ style: 'cursor', nextCursorPath: 'next' }));
    expect(bare.params()).toEqual({});
    expect(bare.advance(page(0, null), WHERE)).toBe(false);
  });
});
