import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTransactionsApi, type FakeApi } from '../../../samples/w4-fake-api.ts';

type Rec = Record<string, unknown>;
interface Page { data: Rec[]; page: number; next_page: number | null }

let apis: FakeApi[] = [];
async function start(opts: Parameters<typeof startFakeTransactionsApi>[0] = {}): Promise<FakeApi> {
  const api = await startFakeTransactionsApi({ records: 120, ...opts });
  apis.push(api);
  return api;
}
afterEach(async () => {
  await Promise.all(apis.map((a) => a.close()));
  apis = [];
});

async function getPage(api: FakeApi, page: number, size = 25, since?: string): Promise<Page> {
  const q = new URLSearchParams({ page: String(page), page_size: String(size), ...(since ? { modified_since: since } : {}) });
  const res = await fetch(`${api.url}/transactions?${q}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

async function extractAll(api: FakeApi, size = 25, since?: string): Promise<Rec[]> {
  const out: Rec[] = [];
  for (let page: number | null = 1; page !== null; ) {
    const body: Page = await getPage(api, page, size, since);
    expect(body.page).toBe(page);
    out.push(...body.data);
    page = body.next_page;
  }
  return out;
}

async function post(api: FakeApi, body: unknown): Promise<Response> {
  return fetch(`${api.url}/_control`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

describe('W4 fake transactions API', () => {
  it('pages through every record, oldest change first, with dirty values and cross-page duplicates', async () => {
    const api = await start({ seed: 3, records: 300 });
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const all = await extractAll(api, 25);
    const truth = api.control.truth();
    const ids = all.map((r) => r.transaction_id as string);
    expect(new Set(ids).size).toBe(truth.total_records);
    expect(ids.length - new Set(ids).size).toBe(truth.listed_twice);
    expect(truth.listed_twice).toBeGreaterThan(0);
    for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) {
      const [first, second] = [ids.indexOf(id), ids.lastIndexOf(id)];
      expect(Math.floor(first / 25)).not.toBe(Math.floor(second / 25)); // on different pages
    }
    const unique = [...new Map(all.map((r) => [r.transaction_id, r])).values()];
    expect(unique.filter((r) => !('product_category' in r) || r.product_category === null)).toHaveLength(truth.missing_category);
    expect(unique.filter((r) => typeof r.transaction_amount === 'string')).toHaveLength(truth.string_amounts);
    expect(unique.filter((r) => /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/.test(r.transaction_date as string))).toHaveLength(truth.day_first_dates);
    expect(unique.filter((r) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(r.transaction_date as string))).toHaveLength(300 - truth.day_first_dates);
    const modified = unique.map((r) => r.last_modified as string);
    expect([...modified].sort()).toEqual(modified);
    for (const r of unique) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['transaction_id', 'customer_id', 'transaction_amount', 'transaction_date', 'status', 'last_modified']));
      expect(['pending', 'approved', 'declined', 'reversed']).toContain(r.status);
    }
  });

  it('is deterministic from its seed', async () => {
    const [a, b, c] = await Promise.all([start({ seed: 9 }), start({ seed: 9 }), start({ seed: 10 })]);
    const text = async (api: FakeApi) => (await fetch(`${api.url}/transactions?page=2&page_size=30`)).text();
    expect(await text(a)).toBe(await text(b));
    expect(await text(a)).not.toBe(await text(c));
  });

  it('fails the next N requests with 500, then answers again', async () => {
    const api = await start();
    api.control.failNext(2);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${api.url}/transactions?page=1`)).status);
    expect(statuses).toEqual([500, 500, 200]);
    expect(api.control.requests().map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('answers 429 with Retry-After for the next N requests', async () => {
    const api = await start();
    api.control.rateLimitNext(1, 3);
    const limited = await fetch(`${api.url}/transactions?page=1`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await fetch(`${api.url}/transactions?page=1`)).status).toBe(200);
  });

  it('delays responses: a client timeout fires, the next request is quick', async () => {
    const api = await start();
    api.control.delay(400, 1);
    await expect(fetch(`${api.url}/transactions?page=1`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    const t0 = Date.now();
    expect((await fetch(`${api.url}/transactions?page=1`)).status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(300);
    api.control.delay(150);
    const t1 = Date.now();
    await fetch(`${api.url}/transactions?page=1`);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(140);
  });

  it('returns a malformed page K: invalid JSON once, or a record missing fields', async () => {
    const api = await start();
    api.control.malformedPage(2, 'invalid_json');
    expect((await getPage(api, 1)).data).toHaveLength(25);
    const bad = await fetch(`${api.url}/transactions?page=2&page_size=25`);
    expect(bad.status).toBe(200);
    await expect(bad.json()).rejects.toThrow(SyntaxError);
    expect((await getPage(api, 2)).data).toHaveLength(25); // only once
    api.control.malformedPage(3, 'missing_fields');
    const page = await getPage(api, 3);
    expect(page.data[0]).not.toHaveProperty('transaction_id');
    expect(page.data[0]).not.toHaveProperty('transaction_amount');
    expect(page.data[1]).toHaveProperty('transaction_id');
  });

  it('advance() changes records with newer last_modified; an incremental extract sees exactly them', async () => {
    const api = await start({ seed: 4, records: 200 });
    const before = new Map((await extractAll(api, 50)).map((r) => [r.transaction_id as string, r]));
    const watermark = [...before.values()].map((r) => r.last_modified as string).sort().at(-1)!;
    const events = api.control.advance({ modify: 5, backdate: 3, reverse: 2, add: 4 });
    expect(api.control.truth()).toMatchObject({ total_records: 206, modified: 5, backdated: 3, reversed: 2, added: 4 });
    const changed = new Map((await extractAll(api, 50, watermark)).map((r) => [r.transaction_id as string, r]));
    const expectedIds = new Set([...events.map((e) => e.transaction_id), ...[...before.values()].filter((r) => r.last_modified === watermark).map((r) => r.transaction_id as string)]);
    expect(new Set(changed.keys())).toEqual(expectedIds);
    for (const e of events) {
      const now = changed.get(e.transaction_id)!;
      expect(now.last_modified as string > watermark).toBe(true);
      const old = before.get(e.transaction_id);
      if (e.kind === 'reversed') {
        expect(old).toBeUndefined();
        const original = before.get(e.reverses!)!;
        expect(now.status).toBe('reversed');
        expect(now.reverses).toBe(e.reverses);
        expect(Number(now.transaction_amount)).toBe(-Number(original.transaction_amount));
        expect(original.status).toBe('approved');
      } else if (e.kind === 'added') expect(old).toBeUndefined();
      else if (e.kind === 'modified') expect([old!.status !== now.status, old!.transaction_amount !== now.transaction_amount]).toContain(true);
      else expect(now.transaction_date).not.toBe(old!.transaction_date);
    }
    // A second advance is deterministic too and keeps counting.
    api.control.advance({ reverse: 1 });
    expect(api.control.truth().reversed).toBe(3);
  });

  it('takes the same switches over POST /_control and refuses bad ones with 400', async () => {
    const api = await start();
    expect((await post(api, { action: 'fail', count: 1 })).status).toBe(200);
    expect((await fetch(`${api.url}/transactions`)).status).toBe(500);
    expect((await post(api, { action: 'rate_limit', count: 1, retry_after: 1 })).status).toBe(200);
    expect((await fetch(`${api.url}/transactions`)).status).toBe(429);
    const adv = (await (await post(api, { action: 'advance', add: 2, modify: 1 })).json()) as { truth: { total_records: number }; changes: unknown[] };
    expect(adv.truth.total_records).toBe(122);
    expect(adv.changes).toHaveLength(3);
    expect((await post(api, { action: 'malformed', page: 1 })).status).toBe(200);
    expect((await post(api, { action: 'reset' })).status).toBe(200);
    expect((await fetch(`${api.url}/transactions`)).status).toBe(200);
    expect((await post(api, { action: 'explode' })).status).toBe(400);
    expect((await post(api, { action: 'fail', count: -1 })).status).toBe(400);
    expect((await fetch(`${api.url}/_control`, { method: 'POST', body: 'not json' })).status).toBe(400);
    const state = (await (await fetch(`${api.url}/_control`)).json()) as { truth: { added: number } };
    expect(state.truth.added).toBe(2);
    expect((await fetch(`${api.url}/transactions?page_size=5000`)).status).toBe(400);
    expect((await fetch(`${api.url}/transactions?modified_since=yesterday`)).status).toBe(400);
    expect((await fetch(`${api.url}/nope`)).status).toBe(404);
  });

  it('closes promptly even with a delayed request in flight', async () => {
    const api = await startFakeTransactionsApi({ records: 10 });
    api.control.delay(10_000);
    const pending = fetch(`${api.url}/transactions`).then(() => 'answered', () => 'dropped');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await api.close();
    expect(await pending).toBe('dropped');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
