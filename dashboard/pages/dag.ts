/**
 * DAG page: whether it is paused (and by whom) with the toggle, the trigger form (a field per
 * declared param: dashboard/params-form.ts), backfill (previewed with its run count first, more
 * than BACKFILL_MAX_RUNS only when confirmed), the DAG's graph coloured by one run (`run`, default
 * the newest), trend charts over the TREND_RUNS runs older than the `before` cursor, and the grid —
 * runs (columns, newest first, 25 a page by logical-date cursor) × tasks (rows, DAG order; mapped
 * tasks folded into one cell with their count), each cell coloured by state with its try — with
 * bulk clear of the failed tasks of the selected runs.
 */
import type pg from 'pg';
import type { CompiledDag } from '../../engine/types.ts';
import { dagSummaries, type DagSummary } from '../queries.ts';
import { gridPage, type GridCell } from '../ui-queries.ts';
import { badge, day, html, layout, postForm, type Html } from '../html.ts';
import { paramsFormBody, type FormProblems, type TriggerForm } from '../params-form.ts';
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

/** The trigger form; after a refused submit, what was typed with each problem beside its field. */
export function triggerForm(dag: CompiledDag, csrf: string, refused?: { form: TriggerForm; problems: FormProblems }): Html {
  return postForm(`/dags/${encodeURIComponent(dag.id)}/trigger`, csrf, html`
${paramsFormBody(dag, refused?.form, refused?.problems)}
<p><button type="submit">Trigger run</button></p>`, { className: 'params-form trigger', id: 'trigger', novalidate: true });
}

/** Paused or not, by whom, and the button that flips it (back to this page). */
function pauseState(dag: CompiledDag, state: Pick<DagSummary, 'paused' | 'pausedBy'>, csrf: string): Html {
  const text = !state.paused ? (dag.schedule ? 'the schedule creates runs' : 'runs start when triggered')
    : state.pausedBy === 'creation' ? 'paused (new DAG: schedule off; manual runs run)'
    : 'paused by an operator (no run starts, manual ones included)';
  const action = state.paused ? 'unpause' : 'pause';
  return html`<span id="dag-state" data-paused="${String(state.paused)}">${state.paused ? badge('skipped', 'paused') : badge('success', 'active')} ${text}</span>
${postForm(`/dags/${encodeURIComponent(dag.id)}/${action}`, csrf, html`<input type="hidden" name="next" value="dag"><button type="submit" id="pause-toggle">${!state.paused ? 'Pause' : state.pausedBy === 'creation' ? 'Unpause (schedule on)' : 'Unpause'}</button>`,
    { confirm: state.paused ? undefined : `Pause ${dag.id}? No run of it starts until it is unpaused.` })}`;
}

export async function dagPage(
  pool: pg.Pool, dag: CompiledDag,
  opts: { before?: Date; run?: number; csrf: string; flash?: string; flashError?: boolean; trigger?: { form: TriggerForm; problems: FormProblems } },
): Promise<string> {
  const [grid, shown, trends, [summary]] = await Promise.all([
    gridPage(pool, dag.id, GRID_RUNS, opts.before), graphRun(pool, dag.id, opts.run), trendPoints(pool, dag.id, TREND_RUNS, opts.before), dagSummaries(pool, [dag]),
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
<dl class="meta"><dt>State</dt><dd>${pauseState(dag, summary, opts.csrf)}</dd>
<dt>Schedule</dt><dd>${dag.schedule ? html`<code>${dag.schedule.cron}</code> ${dag.schedule.timezone}` : 'manual only'}</dd>
<dt>Tasks</dt><dd>${dag.order.length}</dd><dt>File</dt><dd><code>${dag.file}</code></dd></dl>
<h2 id="trigger-heading">Trigger</h2>
${triggerForm(dag, opts.csrf, opts.trigger)}
<h2>Backfill</h2>
<form method="get" action="/dags/${id}/backfill" class="bar">
<label>From <input name="from" type="date" required></label><label>To <input name="to" type="date" required></label>
<button type="submit">Preview backfill</button></form>
<h2>Graph</h2>
${grid.runs.length > 0 ? html`<form method="get" action="/dags/${id}#graph" class="bar graph-run">
${opts.before ? html`<input type="hidden" name="before" value="${opts.before}">` : ''}
<label>Colour by run <select name="run" id="graph-run">${grid.runs.map((r) => html`<option value="${r.id}"${r.id === shown?.id ? html` selected` : ''}>${day(r.logicalDate)} · ${r.state}</option>`)}</select></label>
<button type="submit">Show</button></form>` : ''}
${dagGraph(dag, shown)}
<h2>Trends <span class="muted">(last ${trends.length} runs${opts.before ? html` before ${day(opts.before)}` : ''})</span></h2>
${trendCharts(trends)}
<h2>Runs</h2>
${grid.runs.length === 0 ? html`<p class="muted">No runs yet.</p>` : html`
${postForm(`/dags/${id}/clear-failed`, opts.csrf, html`<button type="submit" class="danger">Clear failed tasks of selected runs</button>`,
    { confirm: 'Clear the failed tasks (and what follows them) of the selected runs?', className: 'bar', id: 'bulk' })}
<div class="scroll"><table class="grid" id="grid"><thead>${header}</thead><tbody>${rows}</tbody></table></div>`}
<p class="pager">${opts.before ? html`<a href="/dags/${id}">newest</a>` : ''}
${grid.nextBefore ? html`<a href="/dags/${id}?before=${encodeURIComponent(grid.nextBefore)}" rel="next">older runs →</a>` : ''}</p>`;
  return layout({ title: dag.id, csrf: opts.csrf, flash: opts.flash, flashError: opts.flashError, crumbs: html`<a href="/">DAGs</a> / ${dag.id}`, body });
}

/** The preview of a backfill; over BACKFILL_MAX_RUNS, creating them needs the confirmation ticked (as the API's `confirmed`). */
export function backfillPage(dag: CompiledDag, plan: { from: string; to: string; count: number; maxRuns: number }, csrf: string, refused?: string): string {
  const id = encodeURIComponent(dag.id);
  const over = plan.count > plan.maxRuns;
  const body = html`<h1>Backfill ${dag.id}</h1>
<p>From ${plan.from} to ${plan.to}: <strong id="backfill-count">${plan.count}</strong> run${plan.count === 1 ? '' : 's'} (runs that already exist are left as they are).</p>
${over ? html`<p class="warn" id="backfill-over">That is more than BACKFILL_MAX_RUNS=${plan.maxRuns}: creating them needs the confirmation below (the CLI's <code>trib backfill --yes</code>), or pick a shorter range.</p>` : ''}
${postForm(`/dags/${id}/backfill`, csrf, html`<input type="hidden" name="from" value="${plan.from}"><input type="hidden" name="to" value="${plan.to}">
${over ? html`<label><input type="checkbox" name="confirmed" value="yes" required> Yes, create all ${plan.count} runs</label> ` : ''}<button type="submit">Create ${plan.count} runs</button> <a href="/dags/${id}">cancel</a>`,
    { confirm: `Create ${plan.count} backfill runs of ${dag.id}?` })}`;
  return layout({ title: `backfill ${dag.id}`, csrf, flash: refused, flashError: refused !== undefined, crumbs: html`<a href="/">DAGs</a> / <a href="/dags/${id}">${dag.id}</a> / backfill`, body });
}
