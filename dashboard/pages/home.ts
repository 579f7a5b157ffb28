/**
 * Home: every DAG with schedule, next run, paused toggle, the strip of its 14 most recently created
 * runs (click → run), its last run (the newest created) with rows loaded/refused and failed checks
 * by severity (error / warn), running/failed counts. Filters: failed in the last 24 h, paused, name.
 */
import type pg from 'pg';
import type { CompiledDag } from '../../engine/types.ts';
import { nextTick } from '../../engine/schedule.ts';
import { dagSummaries } from '../queries.ts';
import { dagActivity } from '../home-queries.ts';
import { badge, day, html, layout, postForm, when } from '../html.ts';

export interface HomeFilter {
  /** Only DAGs with a run failed in the last 24 h. */
  failed: boolean;
  paused: boolean;
  /** Substring of the DAG id or description. */
  name: string;
}

export async function homePage(pool: pg.Pool, dags: Iterable<CompiledDag>, filter: HomeFilter, csrf: string, flash?: string): Promise<string> {
  const compiled = [...dags];
  const summaries = await dagSummaries(pool, compiled);
  const activity = await dagActivity(pool, summaries.map((s) => s.dagId));
  const needle = filter.name.toLowerCase();
  const shown = summaries.filter((s) => {
    const a = activity.get(s.dagId)!;
    return (!filter.failed || a.failed24h > 0) && (!filter.paused || s.paused)
      && (!needle || s.dagId.toLowerCase().includes(needle) || s.description.toLowerCase().includes(needle));
  });
  const now = new Date();
  const rows = shown.map((s) => {
    const a = activity.get(s.dagId)!;
    const dag = compiled.find((d) => d.id === s.dagId)!;
    const next = dag.schedule && !s.paused ? nextTick(dag.schedule.cron, dag.schedule.timezone, now) : null;
    return html`<tr data-dag="${s.dagId}">
<td><a href="/dags/${encodeURIComponent(s.dagId)}"><strong>${s.dagId}</strong></a><br><span class="muted">${s.description}</span></td>
<td>${s.schedule ? html`<code>${s.schedule}</code> <span class="muted">${s.timezone}</span>` : html`<span class="muted">manual</span>`}</td>
<td>${next ? when(next) : '–'}</td>
<td>${postForm(`/dags/${encodeURIComponent(s.dagId)}/${s.paused ? 'unpause' : 'pause'}`, csrf,
      html`${s.pausedBy === 'creation' ? html`<span title="a new DAG: its schedule is off until unpaused; manual runs run">${badge('skipped', 'paused (new)')}</span>`
        : s.paused ? badge('skipped', 'paused') : badge('success', 'active')}
<button type="submit" class="link" aria-label="${s.paused ? 'unpause' : 'pause'} ${s.dagId}">${s.paused ? 'resume' : 'pause'}</button>`)}</td>
<td><div class="strip" aria-label="last ${a.strip.length} runs">${[...a.strip].reverse().map((r) =>
      html`<a class="s-${r.state}" href="/runs/${r.id}" title="${day(r.logicalDate)} ${r.state}" aria-label="run ${day(r.logicalDate)} ${r.state}"></a>`)}</div></td>
<td class="last-run">${a.strip[0] ? html`<a href="/runs/${a.strip[0].id}" data-run="${a.strip[0].id}">#${a.strip[0].id}</a> ${badge(a.strip[0].state)}<br>
<span class="muted" title="created ${when(a.strip[0].createdAt)}">${day(a.strip[0].logicalDate)}</span>` : html`<span class="muted">none</span>`}</td>
<td class="num">${a.lastRowsLoaded.toLocaleString('en')} / <span class="${a.lastRowsRefused ? 'warn' : ''}">${a.lastRowsRefused.toLocaleString('en')}</span></td>
<td class="num checks"><span class="${a.lastChecksError ? 'bad' : ''}" data-severity="error" title="checks failing at error">${a.lastChecksError} error</span><br>
<span class="${a.lastChecksWarn ? 'warn' : ''}" data-severity="warn" title="checks failing at warn">${a.lastChecksWarn} warn</span></td>
<td class="num">${a.running + a.queued}</td>
<td class="num">${a.failed24h ? html`<strong class="warn">${a.failed24h}</strong>` : '0'}</td>
</tr>`;
  });
  const body = html`<h1>DAGs</h1>
<form method="get" action="/" class="bar" role="search">
<label>Name <input name="name" value="${filter.name}" placeholder="filter"></label>
<label><span><input type="checkbox" name="failed" value="1"${filter.failed ? ' checked' : ''}> failed in 24 h</span></label>
<label><span><input type="checkbox" name="paused" value="1"${filter.paused ? ' checked' : ''}> paused</span></label>
<button type="submit">Filter</button>
</form>
<div class="scroll"><table id="dags">
<thead><tr><th>DAG</th><th>Schedule</th><th>Next run</th><th>State</th><th>Last 14 runs</th><th>Last run</th>
<th class="num">Rows loaded / refused</th><th class="num">Failed checks</th><th class="num">Active runs</th><th class="num">Failed 24 h</th></tr></thead>
<tbody>${rows}</tbody></table></div>
${shown.length === 0 ? html`<p class="muted">No DAG matches.</p>` : ''}`;
  return layout({ title: 'DAGs', csrf, flash, body });
}
