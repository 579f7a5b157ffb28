/**
 * The sessions page: the live browser sessions of the dashboard (dashboard/sessions.ts) — created,
 * last seen, address and agent of the login, the current one marked — with a revoke button each
 * and "sign out everywhere else" (POST /sessions/revoke, CSRF-checked by dashboard/auth.ts). A user sees
 * their own; an admin sees everyone's, with the user and role of each.
 */
import { html, layout, postForm, when } from '../html.ts';
import type { Session } from '../sessions.ts';

export function sessionsPage(opts: { sessions: Session[]; current?: string; csrf: string; authOff: boolean; all: boolean }): string {
  const others = opts.sessions.filter((s) => s.idHash !== opts.current).length;
  const body = opts.authOff
    ? html`<h1>Sessions</h1><p class="muted">DASHBOARD_AUTH=off: there is no login, so there are no sessions.</p>`
    : html`<h1>Sessions</h1>
<p class="muted">${opts.all ? 'Every user\'s browser logins' : 'Your browser logins'} that have not ended. Scripts with a Bearer token have no session.</p>
<table id="sessions"><thead><tr><th>User</th><th>Created</th><th>Last seen</th><th>Address</th><th>Agent</th><th></th></tr></thead><tbody>
${opts.sessions.map((s) => html`<tr${s.idHash === opts.current ? html` class="current"` : ''}><td>${s.principal.name} (${s.principal.role})</td><td>${when(s.createdAt)}</td><td>${when(s.lastSeenAt)}</td><td>${s.address}</td>
<td>${s.userAgent.slice(0, 120)}</td><td>${s.idHash === opts.current ? html`<strong>this session</strong> ` : ''}${postForm('/sessions/revoke', opts.csrf,
    html`<input type="hidden" name="session" value="${s.idHash}"><button type="submit" class="danger" aria-label="revoke session created ${when(s.createdAt)}">revoke</button>`,
    { confirm: s.idHash === opts.current ? 'Revoke this session? You will be logged out.' : 'Revoke this session?' })}</td></tr>`)}
</tbody></table>
${opts.current && others > 0 ? postForm('/sessions/revoke', opts.csrf, html`<input type="hidden" name="others" value="1"><button type="submit" class="danger" id="revoke-others">Sign out everywhere else (${others})</button>`,
    { confirm: `End the ${others} other session(s)?` }) : ''}`;
  return layout({ title: 'Sessions', csrf: opts.csrf, body });
}
