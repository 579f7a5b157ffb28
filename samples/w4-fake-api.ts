/**
 * W4 fake transactions API on 127.0.0.1: `GET /transactions?page&page_size&modified_since` →
 * `{ data, page, page_size, next_page }` (last_modified >= modified_since, oldest first), with
 * switches (`control` or `POST /_control`) for 500s, 429 + Retry-After, delays, malformed pages
 * and `advance()`. Deterministic from a seed; no wall clock in the data.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { parseOptions } from './options.ts';
import { renderRecord, TransactionStore, type AdvanceRequest, type ChangeEvent } from './w4-records.ts';

export const fakeApiOptions = z.object({
  /** @default 1 */
  seed: z.number().int().nonnegative().default(1),
  /** @default 500 — records at start */
  records: z.number().int().min(1).max(1_000_000).default(500),
  /** @default 0 — any free port */
  port: z.number().int().min(0).max(65_535).default(0),
  /** @default '2025-05-13T06:00:00Z' — the server's logical clock at start (records are older) */
  now: z.iso.datetime().default('2025-05-13T06:00:00Z'),
  /** @default 100 */
  defaultPageSize: z.number().int().min(1).default(100),
  /** @default 1000 */
  maxPageSize: z.number().int().min(1).default(1000),
});
export type FakeApiOptions = z.input<typeof fakeApiOptions>;

export type MalformedKind = 'invalid_json' | 'missing_fields';

export interface FakeApiTruth {
  total_records: number;
  modified: number;
  backdated: number;
  reversed: number;
  added: number;
  /** Records the listing shows twice (one page apart) when they match the filter. */
  listed_twice: number;
  missing_category: number;
  string_amounts: number;
  day_first_dates: number;
  clock: string;
}

export interface RequestLogEntry { method: string; path: string; status: number; at: number }

export interface FakeApiControl {
  /** The next `count` /transactions requests answer `status` (default 500). */
  failNext(count: number, status?: number): void;
  /** The next `count` /transactions requests answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(count: number, retryAfterSeconds: number): void;
  /** Delays the next `count` (default: all) /transactions responses by `ms`; delay(0) clears. */
  delay(ms: number, count?: number): void;
  /** The next `count` (default 1) requests for page `page` get a malformed answer. */
  malformedPage(page: number, kind?: MalformedKind, count?: number): void;
  /** Changes records between runs (clock moves one hour); returns what changed. */
  advance(changes: AdvanceRequest): ChangeEvent[];
  /** Clears every failure switch (data and clock stay). */
  reset(): void;
  truth(): FakeApiTruth;
  changes(): readonly ChangeEvent[];
  requests(): readonly RequestLogEntry[];
}

export interface FakeApi { url: string; port: number; control: FakeApiControl; close(): Promise<void> }

const controlBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('fail'), count: z.number().int().min(0), status: z.number().int().min(500).max(599).default(500) }),
  z.object({ action: z.literal('rate_limit'), count: z.number().int().min(0), retry_after: z.number().int().min(0) }),
  z.object({ action: z.literal('delay'), ms: z.number().int().min(0), count: z.number().int().min(1).optional() }),
  z.object({ action: z.literal('malformed'), page: z.number().int().min(1), kind: z.enum(['invalid_json', 'missing_fields']).default('invalid_json'), count: z.number().int().min(1).default(1) }),
  z.object({ action: z.literal('advance'), modify: z.number().int().min(0).optional(), backdate: z.number().int().min(0).optional(), reverse: z.number().int().min(0).optional(), add: z.number().int().min(0).optional() }),
  z.object({ action: z.literal('reset') }),
]);

interface Switches { fail: number; failStatus: number; limit: number; retryAfter: number; delayMs: number; delayCount: number; malformed: Map<number, { kind: MalformedKind; count: number }> }

function cleared(): Switches {
  return { fail: 0, failStatus: 500, limit: 0, retryAfter: 0, delayMs: 0, delayCount: 0, malformed: new Map() };
}

export async function startFakeTransactionsApi(raw: FakeApiOptions = {}): Promise<FakeApi> {
  const o = parseOptions(fakeApiOptions, raw, 'w4 fake api');
  const store = new TransactionStore(o.seed, o.records, Date.parse(o.now));
  let sw = cleared();
  const log: RequestLogEntry[] = [];
  const closing = new AbortController();

  const control: FakeApiControl = {
    failNext: (count, status = 500) => Object.assign(sw, { fail: count, failStatus: status }),
    rateLimitNext: (count, retryAfter) => Object.assign(sw, { limit: count, retryAfter }),
    delay: (ms, count = Number.POSITIVE_INFINITY) => Object.assign(sw, { delayMs: ms, delayCount: ms > 0 ? count : 0 }),
    malformedPage: (page, kind = 'invalid_json', count = 1) => sw.malformed.set(page, { kind, count }),
    advance: (changes) => store.advance(changes),
    reset: () => (sw = cleared()),
    changes: () => store.changes,
    requests: () => log,
    truth: () => {
      const count = (kind: ChangeEvent['kind']): number => store.changes.filter((c) => c.kind === kind).length;
      return {
        total_records: store.records.length,
        modified: count('modified'),
        backdated: count('backdated'),
        reversed: count('reversed'),
        added: count('added'),
        listed_twice: store.records.filter((r) => r.dirty.listedTwice).length,
        missing_category: store.records.filter((r) => r.dirty.category !== null).length,
        string_amounts: store.records.filter((r) => r.dirty.amountAsString).length,
        day_first_dates: store.records.filter((r) => r.dirty.dayFirstDate).length,
        clock: new Date(store.clock).toISOString(),
      };
    },
  };

  const send = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): number => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
    return status;
  };

  async function transactions(url: URL, res: http.ServerResponse): Promise<number> {
    if (sw.delayCount > 0) {
      sw.delayCount--;
      await sleep(sw.delayMs, undefined, { signal: closing.signal });
    }
    if (sw.fail > 0) {
      sw.fail--;
      return send(res, sw.failStatus, JSON.stringify({ error: 'injected failure' }));
    }
    if (sw.limit > 0) {
      sw.limit--;
      return send(res, 429, JSON.stringify({ error: 'rate limited' }), { 'retry-after': String(sw.retryAfter) });
    }
    const q = url.searchParams;
    const page = Number(q.get('page') ?? '1');
    const pageSize = Number(q.get('page_size') ?? o.defaultPageSize);
    const since = q.has('modified_since') ? Date.parse(q.get('modified_since')!) : Number.NEGATIVE_INFINITY;
    if (!Number.isInteger(page) || page < 1) return send(res, 400, JSON.stringify({ error: `page must be an integer >= 1, got ${q.get('page')}` }));
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > o.maxPageSize) {
      return send(res, 400, JSON.stringify({ error: `page_size must be an integer in 1..${o.maxPageSize}, got ${q.get('page_size')}` }));
    }
    if (Number.isNaN(since)) return send(res, 400, JSON.stringify({ error: `modified_since is not an ISO timestamp: ${q.get('modified_since')}` }));
    const listing = store.listing(since, pageSize);
    const data = listing.slice((page - 1) * pageSize, page * pageSize).map(renderRecord);
    const nextPage = page * pageSize < listing.length ? page + 1 : null;
    const bad = sw.malformed.get(page);
    if (bad && bad.count > 0) {
      bad.count--;
      if (bad.kind === 'invalid_json') return send(res, 200, JSON.stringify({ data, page, next_page: nextPage }).slice(0, -2)); // truncated
      if (data.length > 0) {
        delete data[0].transaction_id;
        delete data[0].transaction_amount;
      }
    }
    return send(res, 200, JSON.stringify({ data, page, page_size: pageSize, next_page: nextPage }));
  }

  async function controlRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<number> {
    if (req.method === 'GET') return send(res, 200, JSON.stringify({ truth: control.truth(), requests: log.length }));
    let text = '';
    for await (const chunk of req) text += String(chunk);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return send(res, 400, JSON.stringify({ error: 'control body is not JSON' }));
    }
    const parsed = controlBody.safeParse(json);
    if (!parsed.success) return send(res, 400, JSON.stringify({ error: parsed.error.issues[0].message }));
    const b = parsed.data;
    let changes: ChangeEvent[] | undefined;
    if (b.action === 'fail') control.failNext(b.count, b.status);
    else if (b.action === 'rate_limit') control.rateLimitNext(b.count, b.retry_after);
    else if (b.action === 'delay') control.delay(b.ms, b.count);
    else if (b.action === 'malformed') control.malformedPage(b.page, b.kind, b.count);
    else if (b.action === 'advance') changes = control.advance(b);
    else control.reset();
    return send(res, 200, JSON.stringify({ ok: true, truth: control.truth(), ...(changes ? { changes } : {}) }));
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const handle = async (): Promise<number> => {
      if (url.pathname === '/transactions' && req.method === 'GET') return transactions(url, res);
      if (url.pathname === '/_control' && (req.method === 'GET' || req.method === 'POST')) return controlRequest(req, res);
      return send(res, 404, JSON.stringify({ error: `no route ${req.method} ${url.pathname}` }));
    };
    handle().then(
      (status) => log.push({ method: req.method ?? '', path: url.pathname + url.search, status, at: Date.now() }),
      () => res.destroy(), // aborted by close(): drop the connection
    );
  });
  server.listen(o.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    control,
    close: async () => {
      closing.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
