/** The login form: the dashboard token once, then a session cookie (dashboard/auth.ts). */
import { html } from '../html.ts';

export function loginPage(opts: { next: string; error?: string }): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Tributary</title>
<link rel="stylesheet" href="/static/style.css">
</head><body><main class="login">
<h1>Tributary</h1>
${opts.error ? html`<p class="flash error" role="alert">${opts.error}</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="next" value="${opts.next}">
<label for="token">Dashboard token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
<p class="muted">The token is DASHBOARD_TOKEN of the server. It is sent once; the browser keeps a session cookie.</p>
</main></body></html>`.text;
}
