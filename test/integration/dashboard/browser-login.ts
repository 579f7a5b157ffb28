/**
 * A browser login for dashboard tests: POST /login with the token, then the CSRF token of the new
 * session as pages carry it (`<meta name="csrf-token">`; no cookie holds it).
 */
import { expect } from 'vitest';

export interface BrowserSession {
  /** The Cookie header to send back. */
  cookie: string;
  csrf: string;
  /** The Set-Cookie headers of the login answer. */
  setCookies: string[];
}

/** The CSRF token a page of the dashboard carries in its meta tag. */
export async function pageCsrf(base: string, cookie: string): Promise<string> {
  const page = await fetch(`${base}/sessions`, { redirect: 'manual', headers: { cookie, accept: 'text/html' } });
  expect(page.status).toBe(200);
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(await page.text())?.[1];
  expect(csrf).toBeTruthy();
  return csrf!;
}

/** Logs in with the shared token, or as `user` with `token` as the password. */
export async function browserLogin(base: string, token: string, userAgent = 'vitest', user?: string): Promise<BrowserSession> {
  const res = await fetch(`${base}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
    body: new URLSearchParams(user === undefined ? { token } : { user, token }),
  });
  expect(res.status).toBe(303);
  const setCookies = res.headers.getSetCookie();
  const cookie = setCookies.map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf: await pageCsrf(base, cookie), setCookies };
}

/** Logs a browser session out (POST /logout with its CSRF token); the server revokes its row. */
export async function logout(base: string, session: Pick<BrowserSession, 'cookie' | 'csrf'>): Promise<void> {
  const res = await fetch(`${base}/logout`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: session.csrf }),
  });
  expect(res.status).toBe(303);
}
