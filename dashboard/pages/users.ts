/**
 * The users page (/users, admins only): named users with their role and whether they have a
 * password, and every API token with its label, creation, last use and revocation. Changes are
 * made with `trib users` and `trib tokens` on the server (they print a password or token once).
 */
import { html, layout, when } from '../html.ts';
import type { TokenRow, UserRow } from '../users.ts';

export function usersPage(opts: { users: UserRow[]; tokens: TokenRow[]; csrf: string }): string {
  const body = html`<h1>Users</h1>
<p class="muted">Add, change or remove with <code>trib users add|role|password|remove</code> and <code>trib tokens add|revoke</code>. The shared DASHBOARD_TOKEN signs in as user <code>token</code> (admin) unless DASHBOARD_AUTH=users.</p>
<table id="users"><thead><tr><th>User</th><th>Role</th><th>Password</th><th>Live tokens</th><th>Created</th></tr></thead><tbody>
${opts.users.map((u) => html`<tr><td>${u.name}</td><td>${u.role}</td><td>${u.hasPassword ? 'set' : 'none (tokens only)'}</td><td>${u.tokens}</td><td>${when(u.createdAt)}</td></tr>`)}
</tbody></table>
<h2>API tokens</h2>
<table id="tokens"><thead><tr><th>Id</th><th>User</th><th>Label</th><th>Created</th><th>Last used</th><th>Revoked</th></tr></thead><tbody>
${opts.tokens.map((t) => html`<tr><td><code>${t.id}</code></td><td>${t.userName}</td><td>${t.label}</td><td>${when(t.createdAt)}</td><td>${when(t.lastUsedAt)}</td><td>${when(t.revokedAt)}</td></tr>`)}
</tbody></table>`;
  return layout({ title: 'Users', csrf: opts.csrf, body });
}
