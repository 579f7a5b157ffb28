/**
 * Refused-rows browser of one load task in a run: 100 rows a page (id cursor), filter by rule and
 * column, each row with file, line number, raw line and every error; a CSV download of the same
 * filter. Records as read are shown escaped; nothing from them reaches SQL.
 */
import type pg from 'pg';
import type { CompiledDag } from '../../engine/types.ts';
import { getRun } from '../queries.ts';
import { TributaryError } from '../../engine/errors.ts';
import { auditOf, refusedFacets, refusedPage, refusedPool, type RefusedFilter } from '../refused.ts';
import { html, layout } from '../html.ts';

export const REFUSED_PAGE_ROWS = 100;

export interface RefusedView extends RefusedFilter { taskId: string; after?: number }

/** The query string of a refused-rows view (without the cursor). */
export function refusedQuery(view: RefusedView): string {
  const q = new URLSearchParams({ task: view.taskId });
  if (view.rule) q.set('rule', view.rule);
  if (view.column) q.set('column', view.column);
  return q.toString();
}

export async function refusedBrowserPage(pool: pg.Pool, runId: number, dags: ReadonlyMap<string, CompiledDag>, view: RefusedView, csrf: string): Promise<string> {
  const run = await getRun(pool, runId);
  const dag = dags.get(run.dagId);
  const source = dag ? auditOf(dag, view.taskId) : undefined;
  const audit = source?.audit;
  // A load into a connection this dashboard does not define: say so on the page, with what to set.
  let from: pg.Pool | undefined;
  let unreachable = '';
  try {
    from = source && refusedPool(pool, source);
  } catch (err) {
    if (!(err instanceof TributaryError && err.code === 'CONNECTION_UNDEFINED')) throw err;
    unreachable = err.message;
  }
  const [page, facets] = audit && from
    ? await Promise.all([
      refusedPage(from, audit, runId, view.taskId, view, { after: view.after, limit: REFUSED_PAGE_ROWS }),
      refusedFacets(from, audit, runId, view.taskId),
    ])
    : [{ rows: [], total: 0, totalCapped: false, nextAfter: null }, { rules: [], columns: [] }];
  const where = source?.connection ? html` of connection <code>${source.connection}</code>` : '';
  const options = (values: string[]) => values.map((v) => html`<option value="${v}"></option>`);
  const query = refusedQuery(view);
  const body = html`<h1>Refused rows · ${view.taskId}</h1>
<p><span id="refused-total">${page.total.toLocaleString('en')}${page.totalCapped ? '+' : ''}</span> refused row${page.total === 1 ? '' : 's'} match${audit ? html` in <code>${audit.schema}.${audit.table}</code>${where}` : ''}.
<a href="/runs/${runId}/refused.csv?${query}" download>Download CSV</a></p>
${unreachable ? html`<p class="warn" id="refused-unreachable">${unreachable}</p>` : ''}
<form method="get" action="/runs/${runId}/refused" class="bar" role="search"><input type="hidden" name="task" value="${view.taskId}">
<label>Rule <input name="rule" list="rules" value="${view.rule ?? ''}" placeholder="any"></label><datalist id="rules">${options(facets.rules)}</datalist>
<label>Column <input name="column" list="columns" value="${view.column ?? ''}" placeholder="any"></label><datalist id="columns">${options(facets.columns)}</datalist>
<button type="submit">Filter</button></form>
<div class="scroll"><table id="refused"><thead><tr><th>File</th><th class="num">Line</th><th>Raw line</th><th>Errors</th></tr></thead><tbody>
${page.rows.map((r) => html`<tr><td>${r.file.split('/').pop()}</td><td class="num">${r.line}</td><td class="raw">${r.raw}</td>
<td>${r.errors.map((e) => html`<div><strong>${e.column ?? 'row'}</strong> · <code>${e.rule}</code>: ${e.message}</div>`)}</td></tr>`)}
</tbody></table></div>
<p class="pager">${view.after ? html`<a href="/runs/${runId}/refused?${query}">first page</a>` : ''}
${page.nextAfter !== null ? html`<a href="/runs/${runId}/refused?${query}&after=${page.nextAfter}" rel="next">next page →</a>` : ''}</p>`;
  return layout({ title: `refused rows of run ${runId}`, csrf,
    crumbs: html`<a href="/">DAGs</a> / <a href="/dags/${encodeURIComponent(run.dagId)}">${run.dagId}</a> / <a href="/runs/${runId}">run ${runId}</a> / refused rows`, body });
}
