/**
 * Run page: header (logical date, data interval, params with secrets masked, state, duration, run type and,
 * while queued, why it waits), each task with state, tries, duration, warnings, error and its actions (clear ± downstream,
 * mark success/failed), every attempt, load files with their row counts (→ refused-rows browser),
 * checks with outcome, failing count, sample keys and a sparkline of their last 30 runs,
 * reconciliations with samples, report rows with a download link, and one task's log: its newest
 * LOG_LINES lines shown oldest first (older pages behind a link), each with its fields.
 */
import type pg from 'pg';
import type { CompiledDag, Json } from '../../engine/types.ts';
import { runDetail, type RunDetail } from '../queries.ts';
import {
  attemptState, checkHistory, loadFiles, logTail, runAttempts, runChecks, runReconciles, runReports, SPARK_RUNS,
  type CheckHistoryPoint, type CheckRow, type LoadFile, type ReconcileRow, type RunReport,
} from '../ui-queries.ts';
import { badge, duration, html, isSecretKey, layout, postForm, redact, redactParams, REDACTED, when, type Html } from '../html.ts';

export const LOG_LINES = 200;
/** A log field's value is cut after this many characters. */
const LOG_FIELD_CHARS = 300;

export interface LogView { taskId: string; before?: string; search?: string }

function taskActions(run: RunDetail, taskId: string, csrf: string): Html {
  const base = `/runs/${run.id}/tasks/${encodeURIComponent(taskId)}`;
  return html`${postForm(`${base}/clear`, csrf, html`<button type="submit" aria-label="clear ${taskId}">clear</button>`, { confirm: `Clear ${taskId} so it runs again?` })}
${postForm(`${base}/clear`, csrf, html`<input type="hidden" name="downstream" value="1"><button type="submit" aria-label="clear ${taskId} and downstream">+ downstream</button>`,
    { confirm: `Clear ${taskId} and every task after it?` })}
${postForm(`${base}/mark`, csrf, html`<input type="hidden" name="state" value="success"><button type="submit" aria-label="mark ${taskId} success" title="mark ${taskId} success">✓ mark success</button>`,
    { confirm: `Mark ${taskId} success?` })}
${postForm(`${base}/mark`, csrf, html`<input type="hidden" name="state" value="failed"><button type="submit" class="danger" aria-label="mark ${taskId} failed" title="mark ${taskId} failed">✗ mark failed</button>`,
    { confirm: `Mark ${taskId} failed?` })}`;
}

/** A stored error with its code once: the stored text starts with `CODE: ` already (describeError). */
export function errorText(code: string | null, error: string | null): Html {
  if (!code) return html`${error ?? ''}`;
  const rest = error?.startsWith(`${code}: `) ? error.slice(code.length + 2) : error ?? '';
  return html`<strong>${code}</strong> ${rest}`;
}

function filesTable(run: RunDetail, files: LoadFile[]): Html {
  if (files.length === 0) return html``;
  const n = (x: number) => x.toLocaleString('en');
  return html`<h2>Files loaded</h2><div class="scroll"><table id="files">
<thead><tr><th>Task</th><th>File</th><th class="hide-narrow">sha256</th><th class="num">Read</th><th class="num">Loaded</th><th class="num">Refused</th>
<th class="num">Deduplicated</th><th class="num">Coerced</th><th>Ledger</th></tr></thead><tbody>
${files.map((f) => html`<tr data-file="${f.path.split('/').pop() ?? f.path}"><td>${f.taskId}${f.mapIndex >= 0 ? `[${f.mapIndex}]` : ''}</td><td><code>${f.path}</code></td>
<td class="hide-narrow"><code title="${f.sha256 ?? ''}">${(f.sha256 ?? '').slice(0, 12)}</code></td>
<td class="num read">${n(f.rowsRead)}</td><td class="num loaded">${n(f.rowsLoaded)}</td>
<td class="num refused">${f.rowsRefused > 0 ? html`<a href="/runs/${run.id}/refused?task=${encodeURIComponent(f.taskId)}">${n(f.rowsRefused)}</a>` : '0'}</td>
<td class="num">${n(f.rowsDeduplicated)}</td><td class="num">${n(f.coerced)}</td><td>${f.skipped ? 'skipped (already loaded)' : 'loaded'}</td></tr>`)}
</tbody></table></div>`;
}

const SPARK_W = 90;
const SPARK_H = 20;

/** An inline SVG polyline of failing counts, oldest → newest, scaled to the largest; empty for no history. */
export function sparkline(values: number[]): Html {
  if (values.length === 0) return html``;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? SPARK_W / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(SPARK_H - 1 - (v / max) * (SPARK_H - 2)).toFixed(1)}`).join(' ');
  return html`<svg class="spark" width="${SPARK_W}" height="${SPARK_H}" viewBox="0 0 ${SPARK_W} ${SPARK_H}" role="img"
aria-label="failing rows over the last ${values.length} runs: ${values.join(', ')}" data-values="${values.join(',')}">
<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${points}"/></svg>`;
}

const SAMPLE_ROWS_SHOWN = 10;

function checksTable(checks: CheckRow[], history: CheckHistoryPoint[]): Html {
  if (checks.length === 0) return html``;
  const seriesOf = (c: CheckRow) => history.filter((h) => h.taskId === c.taskId && h.checkName === c.checkName).map((h) => h.rowsFailing);
  return html`<h2>Checks</h2><div class="scroll"><table id="checks">
<thead><tr><th>Task</th><th>Check</th><th>Table</th><th>Severity</th><th>Outcome</th><th class="num">Failing / evaluated</th>
<th>Last ${SPARK_RUNS} runs</th><th>Sample keys</th><th>Sample rows</th></tr></thead><tbody>
${checks.map((c) => html`<tr data-check="${c.taskId}/${c.checkName}"><td>${c.taskId}</td><td>${c.checkName} <span class="muted">${c.checkKind}</span></td><td>${c.tableName}</td><td>${c.severity}</td>
<td>${badge(c.outcome === 'pass' ? 'success' : c.outcome === 'warn' ? 'up_for_retry' : 'failed', c.outcome)}</td>
<td class="num failing">${c.rowsFailing.toLocaleString('en')} / ${c.rowsEvaluated.toLocaleString('en')}</td>
<td>${sparkline(seriesOf(c))}</td>
<td><code class="keys">${JSON.stringify(redact(c.sampleKeys)).slice(0, 300)}</code></td>
<td>${sampleRows(c.sampleRows)}</td></tr>`)}</tbody></table></div>`;
}

/** A check's failing sample rows, folded: one line each (values redacted, capped). */
function sampleRows(rows: Json): Html {
  if (!Array.isArray(rows) || rows.length === 0) return html`–`;
  return html`<details class="sample-rows"><summary>${rows.length} row${rows.length === 1 ? '' : 's'}</summary>
<ul>${rows.slice(0, SAMPLE_ROWS_SHOWN).map((r) => html`<li><code>${JSON.stringify(redact(r)).slice(0, 300)}</code></li>`)}</ul></details>`;
}

function reconcileTable(results: ReconcileRow[]): Html {
  if (results.length === 0) return html``;
  const n = (x: number) => x.toLocaleString('en');
  return html`<h2>Reconciliations</h2><div class="scroll"><table id="reconciles">
<thead><tr><th>Task</th><th>Reconciliation</th><th>Outcome</th><th class="num">Matched</th><th class="num">Mismatched</th>
<th class="num">Left only</th><th class="num">Right only</th><th>Samples</th></tr></thead><tbody>
${results.map((r) => html`<tr data-reconcile="${r.taskId}/${r.name}"><td>${r.taskId}</td><td>${r.name}<br><span class="muted">${r.leftSource} ↔ ${r.rightSource}</span></td>
<td>${badge(r.outcome === 'pass' ? 'success' : r.outcome === 'warn' ? 'up_for_retry' : 'failed', r.outcome)}</td>
<td class="num matched">${n(r.matched)}</td><td class="num mismatched">${n(r.mismatched)}</td>
<td class="num left-only">${n(r.leftOnly)}</td><td class="num right-only">${n(r.rightOnly)}</td>
<td>${r.samples.length === 0 ? '–' : html`<ul class="samples">${r.samples.map((s) => html`<li data-status="${s.status}">${s.status}
<code>${JSON.stringify(s.key)}</code>${s.status === 'mismatched' ? html` ${s.leftValue ?? 'null'} ≠ ${s.rightValue ?? 'null'}${s.difference !== null ? ` (Δ ${s.difference})` : ''}` : ''}</li>`)}</ul>`}</td></tr>`)}
</tbody></table></div>`;
}

function reportSection(run: RunDetail, reports: RunReport[]): Html {
  return html`${reports.map((r) => {
    const shown = r.rows.length < r.rowCount ? ` (first ${r.rows.length} of ${r.rowCount.toLocaleString('en')} rows)` : ` (${r.rowCount.toLocaleString('en')} rows)`;
    const cell = (v: Json | undefined) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
    return html`<h2>Report <code>${r.fileName}</code> <span class="muted">(task ${r.taskId})</span></h2>
<p><span class="muted">${shown}</span> <a href="/api/runs/${run.id}/reports/${r.id}/file" download="${r.fileName}">download</a></p>
<div class="scroll"><table class="report" data-report="${r.id}"><thead><tr>${r.columns.map((c) => html`<th>${c}</th>`)}</tr></thead><tbody>
${r.rows.map((row) => html`<tr>${r.columns.map((c) => html`<td>${cell(row[c])}</td>`)}</tr>`)}</tbody></table></div>`;
  })}`;
}

async function logSection(pool: pg.Pool, run: RunDetail, view: LogView | undefined): Promise<Html> {
  if (!view) return html`<p class="muted">Pick a task's <em>log</em> link to read its log (its newest ${LOG_LINES} lines, oldest first).</p>`;
  const page = await logTail(pool, run.id, view.taskId, { limit: LOG_LINES, before: view.before, search: view.search });
  const base = `/runs/${run.id}?log=${encodeURIComponent(view.taskId)}${view.search ? `&q=${encodeURIComponent(view.search)}` : ''}`;
  return html`<h2 id="log">Log of ${view.taskId} <span class="muted">(${view.before ? 'older' : 'newest'} ${page.lines.length} lines, oldest first)</span></h2>
<form method="get" action="/runs/${run.id}#log" class="bar" role="search"><input type="hidden" name="log" value="${view.taskId}">
<label>Search <input name="q" value="${view.search ?? ''}"></label><button type="submit">Search</button></form>
<p class="pager">${page.olderBefore !== null ? html`<a href="${base}&before=${page.olderBefore}#log">← older lines</a>` : html`<span class="muted">first line reached</span>`}
${view.before ? html`<a href="${base}#log">newest lines</a>` : ''}</p>
<pre class="log">${page.lines.length === 0 ? 'no log lines' : page.lines.map((l) =>
    html`<span class="line" data-line="${l.cursor}">${when(l.at)} try ${l.tryNumber}${attemptOf(l.fields)}${l.mapIndex >= 0 ? ` [${l.mapIndex}]` : ''} ${l.level.padEnd(5)} ${l.message}${logFields(l.fields)}</span>\n`)}</pre>`;
}

/**
 * Fields every stored line carries from its task logger (engine/executor.ts) or pino, which the
 * page already says (the run, the task, the try and map index in the line's prefix): not repeated.
 */
const CONTEXT_FIELDS = new Set(['dag_id', 'run_id', 'task_id', 'map_index', 'try', 'attempt', 'pid', 'hostname']);

/** `.2` after the try number of a line logged by a try's second attempt (a worker was lost). */
const attemptOf = (fields: Record<string, Json> | null) => (typeof fields?.attempt === 'number' && fields.attempt > 1 ? `.${fields.attempt}` : '');

/** A log line's own fields, compact after its message: ` url=… reason=…` (secret-looking values redacted, long ones cut). */
export function logFields(fields: Record<string, Json> | null): Html {
  const entries = Object.entries(fields ?? {}).filter(([k]) => !CONTEXT_FIELDS.has(k));
  if (entries.length === 0) return html``;
  const shown = entries.map(([k, v]) => {
    const value = isSecretKey(k) ? REDACTED : redact(v);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return html` <span class="field"><span class="k">${k}</span>=${text.length > LOG_FIELD_CHARS ? `${text.slice(0, LOG_FIELD_CHARS)}…` : text}</span>`;
  });
  return html`<span class="fields">${shown}</span>`;
}

export async function runPage(pool: pg.Pool, runId: number, dags: ReadonlyMap<string, CompiledDag>, opts: { csrf: string; flash?: string; log?: LogView }): Promise<string> {
  const run = await runDetail(pool, runId, dags);
  const [files, checks, history, reconciles, reports, attempts, interval, log] = await Promise.all([
    loadFiles(pool, runId), runChecks(pool, runId), checkHistory(pool, runId), runReconciles(pool, runId), runReports(pool, runId), runAttempts(pool, runId),
    pool.query<{ end: Date }>('SELECT interval_end AS "end" FROM dag_runs WHERE id = $1', [runId]),
    logSection(pool, run, opts.log),
  ]);
  const dagId = encodeURIComponent(run.dagId);
  const runMs = run.startedAt ? (run.endedAt ?? new Date()).getTime() - run.startedAt.getTime() : null;
  const tasks = html`<div class="scroll"><table id="tasks"><thead><tr><th>Task</th><th>State</th><th class="num">Try</th><th class="num">Duration</th>
<th>Result / error</th><th>Actions</th></tr></thead><tbody>
${run.tasks.map((t) => html`<tr id="${t.mapIndex < 0 ? `task-${t.taskId}` : ''}" data-task="${t.taskId}${t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''}">
<td>${t.taskId}${t.mapIndex >= 0 ? html` <span class="muted">[${t.mapIndex}]</span>` : ''}<br><a href="/runs/${run.id}?log=${encodeURIComponent(t.taskId)}#log">log</a></td>
<td>${badge(t.state)}${t.waiting ? html`<br><span class="muted">${t.waiting.text}</span>` : ''}</td>
<td class="num">${t.tryNumber}/${t.maxTries}</td><td class="num">${duration(t.durationMs)}</td>
<td>${errorText(t.errorCode, t.error)}
${t.warnings.map((w) => html`<div class="warn">⚠ ${w}</div>`)}</td>
<td>${t.mapIndex < 0 ? taskActions(run, t.taskId, opts.csrf) : ''}</td></tr>`)}
</tbody></table></div>`;
  const attemptsTable = attempts.length === 0 ? html`` : html`<details><summary>Attempts (${attempts.length})</summary><div class="scroll"><table id="attempts">
<thead><tr><th>Task</th><th class="num">Try.attempt</th><th>State</th><th>Worker</th><th>Started</th><th>Ended</th><th>Error</th></tr></thead><tbody>
${attempts.map((a) => html`<tr><td>${a.taskId}${a.mapIndex >= 0 ? `[${a.mapIndex}]` : ''}</td><td class="num">${a.tryNumber}.${a.attempt}</td><td>${attemptState(a, when)}</td>
<td>${a.worker}${a.dagVersion ? html` <span class="version-other" title="this worker's copy of the DAG was another version than the run's">(ran DAG version ${a.dagVersion})</span>` : ''}</td><td>${when(a.startedAt)}</td><td>${when(a.endedAt)}</td><td>${errorText(a.errorCode, a.error)}</td></tr>`)}</tbody></table></div></details>`;
  const body = html`<h1>${run.dagId} · ${when(run.logicalDate)} ${badge(run.state)}</h1>
${run.state === 'queued' && run.waitReason ? html`<p class="flash waiting" id="wait-reason" role="status"><strong>Queued, not started:</strong> ${run.waitReason}</p>` : ''}
<dl class="meta"><dt>Run</dt><dd>#${run.id} (${run.runType}${run.triggeredBy ? html`, triggered by <span id="triggered-by">${run.triggeredBy}</span>` : ''})</dd>
<dt>DAG version</dt><dd><code id="dag-version">${run.dagVersion ?? '–'}</code>${run.dagVersion && dags.get(run.dagId) && dags.get(run.dagId)!.version !== run.dagVersion ? html` (this dashboard has version <code>${dags.get(run.dagId)!.version}</code>)` : ''}</dd>
<dt>Data interval</dt><dd>${when(run.logicalDate)} → ${when(interval.rows[0]?.end)}</dd>
<dt>Started / ended</dt><dd>${when(run.startedAt)} → ${when(run.endedAt)} (${duration(runMs)})</dd>
<dt>Warnings</dt><dd>${run.warnings}</dd>
<dt>Params</dt><dd><code id="params">${JSON.stringify(redactParams(dags.get(run.dagId), run.params))}</code></dd></dl>
<h2>Tasks</h2>${tasks}
${attemptsTable}
${filesTable(run, files)}
${checksTable(checks, history)}
${reconcileTable(reconciles)}
${reportSection(run, reports)}
${log}`;
  return layout({ title: `${run.dagId} run ${run.id}`, csrf: opts.csrf, flash: opts.flash,
    crumbs: html`<a href="/">DAGs</a> / <a href="/dags/${dagId}">${run.dagId}</a> / run ${run.id}`, body });
}
