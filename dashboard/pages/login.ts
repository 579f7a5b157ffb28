/** The login form: a user name and password, or the shared dashboard token alone; then a session cookie (dashboard/auth.ts). */
import { html } from '../html.ts';

export function loginPage(opts: { next: string; error?: string; user?: string }): string {
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
<label for="user">User</label>
<input id="user" name="user" autocomplete="username" value="${opts.user ?? ''}" maxlength="64">
<label for="token">Password</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
<p class="muted">A user from <code>trib users add</code> with its password — or no user and the server's DASHBOARD_TOKEN. It is sent once; the browser keeps a session cookie.</p>
</main></body></html>`.text;
}
