/**
 * DAG page: the grid — runs (columns, newest first, 25 a page by logical-date cursor) × tasks (rows,
 * DAG order; mapped tasks folded into one cell with their count), each cell coloured by state with
 * its try — plus the trigger form (params JSON from the DAG's defaults, secrets redacted), backfill
 * (previewed with its run count first) and bulk clear of the failed tasks of the selected runs;
 * the DAG's graph coloured by one run (`run`, default the newest) and trend charts over the
 * TREND_RUNS runs older than the same `before` cursor.
 */
import type pg from 'pg';
import type { CompiledDag, Json } from '../../engine/types.ts';
import { gridPage, type GridCell } from '../ui-queries.ts';
import { day, html, layout, postForm, redact, type Html } from '../html.ts';
import { dagGraph, graphRun } from './dag-graph.ts';
import { TREND_RUNS, trendCharts, trendPoints } from './trends.ts';

export const GRID_RUNS = 25;

function cell(c: GridCell | undefined, runId: number, taskId: string): Html {
  if (!c) return html`<td></td>`;
  const label = c.mapped > 0 ? `×${c.mapped}` : c.tryNumber > 1 ? String(c.tryNumber) : '';
  const title = c.mapped > 0
    ? `${taskId}: ${c.mapped} mapped — ${Object.entries(c.states).map(([s, n]) => `${n} ${s}`).join(', ')}`
    : `${taskId}: ${c.state}, try ${c.tryNumber}`;
  return html`<td><a class="cell s-${c.state}" href="/runs/${runId}#task-${taskId}" title="${title}">${label || html`&nbsp;`}</a></td>`;
}

export function triggerForm(dag: CompiledDag, csrf: string, params?: string): Html {
  const prefill = params ?? JSON.stringify(redact(dag.params as Json), null, 2);
  return postForm(`/dags/${encodeURIComponent(dag.id)}/trigger`, csrf, html`
<label>Logical day <input name="day" type="date" placeholder="today"></label>
<label>Params (JSON; redacted values keep the DAG's default) <textarea name="params" rows="4">${prefill}</textarea></label>
<button type="submit">Trigger run</button>`, { className: 'bar trigger' });
}

export async function dagPage(
  pool: pg.Pool, dag: CompiledDag, opts: { before?: Date; run?: number; csrf: string; flash?: string; params?: string },
): Promise<string> {
  const [grid, shown, trends] = await Promise.all([
    gridPage(pool, dag.id, GRID_RUNS, opts.before), graphRun(pool, dag.id, opts.run), trendPoints(pool, dag.id, TREND_RUNS, opts.before),
  ]);
  const id = encodeURIComponent(dag.id);
  const header = html`<tr><th class="task"><label><input type="checkbox" data-check-all="runId" aria-label="select all runs"> task</label></th>${grid.runs.map((r) =>
    html`<th class="run"><input type="checkbox" name="runId" value="${r.id}" form="bulk" aria-label="select run ${day(r.logicalDate)}">
<a href="/runs/${r.id}">${day(r.logicalDate)}</a></th>`)}</tr>
<tr><th class="task">run</th>${grid.runs.map((r) => html`<td><a class="cell s-${r.state}" href="/runs/${r.id}" title="run ${r.state}">&nbsp;</a></td>`)}</tr>`;
  const rows = dag.order.map((taskId) => html`<tr><th class="task" scope="row">${taskId}${dag.tasks.get(taskId)?.mapOver ? html` <span class="muted">(mapped)</span>` : ''}</th>
${grid.runs.map((r) => cell(grid.cells.get(taskId)?.get(r.id), r.id, taskId))}</tr>`);
  const body = html`<h1>${dag.id}</h1>
<p class="muted">${dag.description}</p>
<dl class="meta"><dt>Schedule</dt><dd>${dag.schedule ? html`<code>${dag.schedule.cron}</code> ${dag.schedule.timezone}` : 'manual only'}</dd>
<dt>Tasks</dt><dd>${dag.order.length}</dd><dt>File</dt><dd><code>${dag.file}</code></dd></dl>
<h2>Graph</h2>
${grid.runs.length > 0 ? html`<form method="get" action="/dags/${id}#graph" class="bar graph-run">
${opts.before ? html`<input type="hidden" name="before" value="${opts.before}">` : ''}
<label>Colour by run <select name="run" id="graph-run">${grid.runs.map((r) => html`<option value="${r.id}"${r.id === shown?.id ? html` selected` : ''}>${day(r.logicalDate)} · ${r.state}</option>`)}</select></label>
<button type="submit">Show</button></form>` : ''}
${dagGraph(dag, shown)}
<h2>Trends <span class="muted">(last ${trends.length} runs${opts.before ? html` before ${day(opts.before)}` : ''})</span></h2>
${trendCharts(trends)}
<h2>Trigger</h2>
${triggerForm(dag, opts.csrf, opts.params)}
<h2>Backfill</h2>
<form method="get" action="/dags/${id}/backfill" class="bar">
<label>From <input name="from" type="date" required></label><label>To <input name="to" type="date" required></label>
<button type="submit">Preview backfill</button></form>
<h2>Runs</h2>
${grid.runs.length === 0 ? html`<p class="muted">No runs yet.</p>` : html`
${postForm(`/dags/${id}/clear-failed`, opts.csrf, html`<button type="submit" class="danger">Clear failed tasks of selected runs</button>`,
    { confirm: 'Clear the failed tasks (and what follows them) of the selected runs?', className: 'bar', id: 'bulk' })}
<div class="scroll"><table class="grid" id="grid"><thead>${header}</thead><tbody>${rows}</tbody></table></div>`}
<p class="pager">${opts.before ? html`<a href="/dags/${id}">newest</a>` : ''}
${grid.nextBefore ? html`<a href="/dags/${id}?before=${encodeURIComponent(grid.nextBefore)}" rel="next">older runs →</a>` : ''}</p>`;
  return layout({ title: dag.id, csrf: opts.csrf, flash: opts.flash, crumbs: html`<a href="/">DAGs</a> / ${dag.id}`, body });
}

export function backfillPage(dag: CompiledDag, plan: { from: string; to: string; count: number }, csrf: string): string {
  const id = encodeURIComponent(dag.id);
  const body = html`<h1>Backfill ${dag.id}</h1>
<p>From ${plan.from} to ${plan.to}: <strong id="backfill-count">${plan.count}</strong> run${plan.count === 1 ? '' : 's'} (runs that already exist are left as they are).</p>
${postForm(`/dags/${id}/backfill`, csrf, html`<input type="hidden" name="from" value="${plan.from}"><input type="hidden" name="to" value="${plan.to}">
<button type="submit">Create ${plan.count} runs</button> <a href="/dags/${id}">cancel</a>`, { confirm: `Create ${plan.count} backfill runs of ${dag.id}?` })}`;
  return layout({ title: `backfill ${dag.id}`, csrf, crumbs: html`<a href="/">DAGs</a> / <a href="/dags/${id}">${dag.id}</a> / backfill`, body });
}
