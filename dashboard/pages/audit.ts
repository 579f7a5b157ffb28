/**
 * The audit log page (/audit): newest first, 100 a page by an id cursor, filtered by user and
 * action — when, who (and role), through what and from where, the action and its target, the
 * parameters as recorded (secrets already masked), and how it ended with the refusal's reason.
 */
import type { AuditRow } from '../../engine/audit-log.ts';
import { html, layout, when } from '../html.ts';

export const AUDIT_PAGE_ROWS = 100;

export interface AuditView {
  actor?: string;
  action?: string;
  before?: number;
}

export function auditPage(opts: { rows: AuditRow[]; view: AuditView; csrf: string }): string {
  const { rows, view } = opts;
  const older = new URLSearchParams();
  if (view.actor) older.set('actor', view.actor);
  if (view.action) older.set('action', view.action);
  if (rows.length === AUDIT_PAGE_ROWS) older.set('before', String(rows[rows.length - 1].id));
  const body = html`<h1>Audit log</h1>
<p class="muted">Every operator action and login — dashboard, API, queues page and CLI — newest first. Parameters are shown as recorded, secrets masked.</p>
<form method="get" action="/audit" class="bar" role="search">
<label>User <input name="actor" value="${view.actor ?? ''}" placeholder="any"></label>
<label>Action <input name="action" value="${view.action ?? ''}" placeholder="any, e.g. trigger, login"></label>
<button type="submit">Filter</button></form>
<table id="audit"><thead><tr><th>#</th><th>When</th><th>User</th><th>Via</th><th>Address</th><th>Action</th><th>Target</th><th>Params</th><th>Outcome</th></tr></thead><tbody>
${rows.map((r) => html`<tr class="outcome-${r.outcome}"><td>${r.id}</td><td>${when(r.at)}</td><td>${r.actor}${r.role ? html` <span class="muted">(${r.role})</span>` : ''}</td>
<td>${r.via}</td><td>${r.address ?? ''}</td><td>${r.action}</td><td>${r.target ?? ''}</td><td><code>${r.params === null ? '' : JSON.stringify(r.params)}</code></td>
<td>${r.outcome}${r.status === null ? '' : html` ${r.status}`}${r.detail ? html`<br><span class="muted">${r.detail}</span>` : ''}</td></tr>`)}
</tbody></table>
${rows.length === 0 ? html`<p class="muted">Nothing recorded${view.actor || view.action ? ' for this filter' : ''}.</p>` : ''}
${older.has('before') ? html`<p><a href="/audit?${older.toString()}" rel="next">Older</a></p>` : ''}`;
  return layout({ title: 'Audit log', csrf: opts.csrf, body });
}
