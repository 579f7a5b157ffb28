/**
 * One page GET with Node's fetch: a timeout per request (headers and body), retries with
 * jittered exponential backoff on 5xx, 408, network errors and timeouts, and 429/503 waiting
 * for Retry-After. Other statuses fail at once (SOURCE_REJECTED); exhausted retries fail with
 * SOURCE_UNAVAILABLE. Every attempt is counted and each retry logged with its wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { TributaryError } from '../../engine/errors.ts';
import type { RequestOptions } from './options.ts';
import { backoffDelay, parseRetryAfter } from './retry.ts';

export interface RequestStats {
  requests: number;
  retries: number;
  /** Total time spent waiting between attempts. */
  waitedMs: number;
}

export interface RequestScope {
  signal: AbortSignal;
  log: Logger;
  /** Rendered headers (may hold secrets: never logged). */
  headers: Record<string, string>;
}

type Attempt = { ok: true; text: string } | { ok: false; reason: string; retryAfterMs: number | null };

/** The URL without credentials, for messages, logs and audit rows. */
export function showUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`;
}

async function attempt(url: URL, policy: RequestOptions, scope: RequestScope): Promise<Attempt> {
  const timeout = AbortSignal.timeout(policy.timeoutMs);
  try {
    const res = await fetch(url, { headers: { accept: 'application/json', ...scope.headers }, signal: AbortSignal.any([scope.signal, timeout]) });
    if (res.ok) return { ok: true, text: await res.text() };
    const body = (await res.text()).slice(0, 200).replace(/\s+/g, ' ');
    const reason = `HTTP ${res.status}${body ? ` ${body}` : ''}`;
    if (res.status === 429 || res.status === 503) {
      return { ok: false, reason, retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), Date.now()) };
    }
    if (res.status >= 500 || res.status === 408) return { ok: false, reason, retryAfterMs: null };
    throw new TributaryError('SOURCE_REJECTED', `GET ${showUrl(url)} answered ${reason}`);
  } catch (err) {
    if (err instanceof TributaryError || scope.signal.aborted) throw err;
    if (timeout.aborted) return { ok: false, reason: `no complete answer within ${policy.timeoutMs} ms`, retryAfterMs: null };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, reason: `network error (${cause?.code ?? cause?.message ?? (err as Error).message})`, retryAfterMs: null };
  }
}

/** GETs `url` until it answers 2xx, and returns the body text. */
export async function fetchText(url: URL, policy: RequestOptions, scope: RequestScope, stats: RequestStats): Promise<string> {
  for (let retry = 0; ; retry++) {
    stats.requests++;
    const result = await attempt(url, policy, scope);
    if (result.ok) return result.text;
    const where = `GET ${showUrl(url)}`;
    if (retry >= policy.retries) {
      throw new TributaryError('SOURCE_UNAVAILABLE', `${where}: ${result.reason}; gave up after ${retry + 1} attempts`);
    }
    if (result.retryAfterMs !== null && result.retryAfterMs > policy.maxRetryAfterMs) {
      throw new TributaryError('SOURCE_UNAVAILABLE',
        `${where}: ${result.reason}; Retry-After asks for ${result.retryAfterMs} ms, above maxRetryAfterMs ${policy.maxRetryAfterMs}`);
    }
    const waitMs = result.retryAfterMs ?? backoffDelay(retry + 1, policy);
    scope.log.warn({ url: showUrl(url), attempt: retry + 1, reason: result.reason, wait_ms: waitMs, retry_after: result.retryAfterMs !== null }, 'extract: request failed, retrying');
    await sleep(waitMs, undefined, { signal: scope.signal });
    stats.retries++;
    stats.waitedMs += waitMs;
  }
}
