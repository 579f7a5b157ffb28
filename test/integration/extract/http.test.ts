/**
 * fetchText against the W4 fake API: 500s, a 429 with Retry-After and a slow answer are retried
 * to success; exhausted retries, a too-long Retry-After and a 4xx fail with their codes. Waits
 * are checked from the server's own request times (lower bounds only).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchText, type RequestStats } from '../../../jobs/extract/http.ts';
import { extractOptions } from '../../../jobs/extract/options.ts';
import { startFakeTransactionsApi, type FakeApi } from '../../../samples/w4-fake-api.ts';

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeTransactionsApi({ records: 20 });
});
afterAll(async () => api.close());
beforeEach(() => api.control.reset());

function policy(request: object = {}) {
  return extractOptions.parse({
    url: 'http://x', target: 't', key: ['id'], columns: [{ name: 'id', type: 'text' }],
    request: { timeoutMs: 2000, retries: 4, backoffMs: 20, maxBackoffMs: 100, ...request },
  }).request;
}

const scope = () => ({ signal: new AbortController().signal, log: pino({ level: 'silent' }), headers: {} });
const stats = (): RequestStats => ({ requests: 0, retries: 0, waitedMs: 0 });
const url = () => new URL(`${api.url}/transactions?page=1&page_size=5`);

/** The server's log entries for requests made from index `from` on. */
const since = (from: number) => api.control.requests().slice(from);

describe('extract http', () => {
  it('retries 500s with backoff and returns the page', async () => {
    const from = api.control.requests().length;
    api.control.failNext(3);
    const s = stats();
    const text = await fetchText(url(), policy(), scope(), s);
    expect((JSON.parse(text) as { data: unknown[] }).data).toHaveLength(5);
    expect(since(from).map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(s).toMatchObject({ requests: 4, retries: 3 });
    // jittered 20·2^(n-1) ms: at least half of 20 + 40 + 80
    expect(s.waitedMs).toBeGreaterThanOrEqual(70);
  });

  it('waits at least Retry-After seconds after a 429', async () => {
    const from = api.control.requests().length;
    api.control.rateLimitNext(1, 1);
    const s = stats();
    await fetchText(url(), policy(), scope(), s);
    const [limited, ok] = since(from);
    expect([limited.status, ok.status]).toEqual([429, 200]);
    expect(ok.at - limited.at).toBeGreaterThanOrEqual(1000);
    expect(s).toEqual({ requests: 2, retries: 1, waitedMs: 1000 });
  });

  it('abandons a request slower than timeoutMs and retries it', async () => {
    api.control.delay(1500, 1);
    const s = stats();
    const text = await fetchText(url(), policy({ timeoutMs: 200 }), scope(), s);
    expect(JSON.parse(text)).toHaveProperty('data');
    expect(s).toMatchObject({ requests: 2, retries: 1 });
  });

  it('gives up after `retries` with SOURCE_UNAVAILABLE (retryable), naming the URL and the last reason', async () => {
    api.control.failNext(10, 503);
    const s = stats();
    const err = await fetchText(url(), policy({ retries: 2 }), scope(), s).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retryable: true });
    expect((err as Error).message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/transactions\?page=1&page_size=5: HTTP 503 .*gave up after 3 attempts$/);
    expect(s.requests).toBe(3);
  });

  it('does not wait for a Retry-After above maxRetryAfterMs', async () => {
    api.control.rateLimitNext(1, 600);
    const err = await fetchText(url(), policy({ maxRetryAfterMs: 5000 }), scope(), stats()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
    expect((err as Error).message).toContain('Retry-After asks for 600000 ms, above maxRetryAfterMs 5000');
  });

  it('fails at once on a 4xx other than 408/429 (SOURCE_REJECTED, permanent), with the body', async () => {
    const s = stats();
    const bad = new URL(`${api.url}/transactions?page=0`);
    const err = await fetchText(bad, policy(), scope(), s).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOURCE_REJECTED', retryable: false });
    expect((err as Error).message).toContain('answered HTTP 400 {"error":"page must be an integer >= 1, got 0"}');
    expect(s.requests).toBe(1);
  });

  it('retries a refused connection as a network error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const s = stats();
    const err = await fetchText(new URL(`http://127.0.0.1:${port}/x`), policy({ retries: 1 }), scope(), s).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
    expect((err as Error).message).toContain('network error (ECONNREFUSED)');
    expect(s.requests).toBe(2);
  });

  it('sends the configured headers', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const server = http.createServer((req, res) => {
      seen = req.headers;
      res.end('{"data":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await fetchText(new URL(`http://127.0.0.1:${port}/`), policy(), { ...scope(), headers: { authorization: 'Bearer t0k' } }, stats());
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(seen).toMatchObject({ authorization: 'Bearer t0k', accept: 'application/json' });
  });
});
