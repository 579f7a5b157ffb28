/**
 * The DAG page's trend charts over one page of runs (the grid's page: the newest N older than its
 * `before` cursor): run duration, rows loaded, rows refused (its load tasks' results) and checks
 * failed (current tries), each a small inline SVG chart with a title, a description and axis labels.
 */
import type pg from 'pg';
import { day, duration, html, type Html } from '../html.ts';

/** Runs a trend chart covers by default. */
export const TREND_RUNS = 30;

export interface TrendPoint {
  runId: number;
  logicalDate: Date;
  state: string;
  /** Null while the run has not both started and ended. */
  durationMs: number | null;
  rowsLoaded: number;
  rowsRefused: number;
  checksFailed: number;
}

/**
 * $1 dag id, $2 before (logical date, null = newest), $3 limit → the newest $3 runs of the DAG older
 * than $2 (a range scan of dag_runs_dag_logical_date), oldest first, each with its load tasks' summed
 * `rows_loaded`/`rows_rejected` and the failed checks of its validate tasks' current tries.
 */
const TRENDS_SQL = `
SELECT r.id, r.logical_date AS "logicalDate", r.state,
  (extract(epoch FROM r.ended_at - r.started_at) * 1000)::float8 AS "durationMs",
  coalesce((SELECT sum((ti.result ->> 'rows_loaded')::bigint) FROM task_instances ti
            WHERE ti.run_id = r.id AND ti.queue = 'load' AND jsonb_typeof(ti.result -> 'rows_loaded') = 'number'), 0)::float8 AS "rowsLoaded",
  coalesce((SELECT sum((ti.result ->> 'rows_rejected')::bigint) FROM task_instances ti
            WHERE ti.run_id = r.id AND ti.queue = 'load' AND jsonb_typeof(ti.result -> 'rows_rejected') = 'number'), 0)::float8 AS "rowsRefused",
  (SELECT count(*) FROM check_results c JOIN task_instances ti
     ON ti.run_id = c.run_id AND ti.task_id = c.task_id AND ti.map_index = -1 AND ti.try_number = c.try_number
   WHERE c.run_id = r.id AND c.outcome = 'fail')::int AS "checksFailed"
FROM (SELECT id, logical_date, state, started_at, ended_at FROM dag_runs
      WHERE dag_id = $1 AND ($2::timestamptz IS NULL OR logical_date < $2)
      ORDER BY logical_date DESC LIMIT $3) AS r
ORDER BY r.logical_date`;

export async function trendPoints(pool: pg.Pool, dagId: string, limit: number, before?: Date): Promise<TrendPoint[]> {
  const { rows } = await pool.query<TrendPoint & { id: string }>(TRENDS_SQL, [dagId, before ?? null, limit]);
  return rows.map(({ id, ...r }) => ({ ...r, runId: Number(id) }));
}

const W = 360;
const H = 170;
const PAD = { left: 52, right: 10, top: 26, bottom: 30 };

interface Series { id: string; title: string; value: (p: TrendPoint) => number | null; format: (v: number) => string; bars: boolean }

const SERIES: Series[] = [
  { id: 'duration', title: 'Run duration', value: (p) => p.durationMs, format: duration, bars: false },
  { id: 'loaded', title: 'Rows loaded', value: (p) => p.rowsLoaded, format: String, bars: true },
  { id: 'refused', title: 'Rows refused', value: (p) => p.rowsRefused, format: String, bars: true },
  { id: 'checks', title: 'Checks failed', value: (p) => p.checksFailed, format: String, bars: true },
];

/** One chart: bars (counts) or a line with dots (duration); each point has its value and run as data attributes. */
function chart(s: Series, points: TrendPoint[]): Html {
  const values = points.map(s.value);
  const max = Math.max(1, ...values.map((v) => v ?? 0));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / Math.max(points.length, 1);
  const round = (v: number) => Math.round(v * 10) / 10;
  const x = (i: number) => round(PAD.left + step * (i + 0.5));
  const y = (v: number) => round(PAD.top + plotH - (v / max) * plotH);
  const shown = values.filter((v): v is number => v !== null);
  const desc = shown.length === 0
    ? `No values over ${points.length} runs.`
    : `${points.length} runs from ${day(points[0].logicalDate)} to ${day(points[points.length - 1].logicalDate)}; `
      + `latest ${s.format(shown[shown.length - 1])}, highest ${s.format(Math.max(...shown))}.`;
  const marks = points.map((p, i) => {
    const v = values[i];
    if (v === null) return '';
    const tip = html`<title>${day(p.logicalDate)} (run ${p.runId}): ${s.format(v)}</title>`;
    const attrs = html`class="point s-${p.state}" data-run="${p.runId}" data-value="${v}"`;
    return s.bars
      ? html`<a href="/runs/${p.runId}"><rect ${attrs} x="${round(x(i) - step * 0.35)}" y="${y(v)}" width="${round(step * 0.7)}" height="${round(Math.max(PAD.top + plotH - y(v), v > 0 ? 1 : 0))}">${tip}</rect></a>`
      : html`<a href="/runs/${p.runId}"><circle ${attrs} cx="${x(i)}" cy="${y(v)}" r="3">${tip}</circle></a>`;
  });
  const line = s.bars ? '' : html`<polyline class="line" points="${points.flatMap((p, i) => {
    const v = values[i];
    return v === null ? [] : [`${x(i)},${y(v)}`];
  }).join(' ')}"/>`;
  const titleId = `trend-${s.id}-title`;
  const descId = `trend-${s.id}-desc`;
  return html`<figure class="trend" id="trend-${s.id}">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${titleId} ${descId}">
<title id="${titleId}">${s.title}</title><desc id="${descId}">${desc}</desc>
<text class="chart-title" x="${PAD.left}" y="16">${s.title}</text>
<line class="axis" x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${W - PAD.right}" y2="${PAD.top + plotH}"/>
<line class="axis" x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}"/>
<line class="grid-line" x1="${PAD.left}" y1="${PAD.top}" x2="${W - PAD.right}" y2="${PAD.top}"/>
<text class="tick" x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end">${s.format(max)}</text>
<text class="tick" x="${PAD.left - 4}" y="${PAD.top + plotH + 4}" text-anchor="end">${s.format(0)}</text>
${points.length > 0 ? html`<text class="tick" x="${PAD.left}" y="${H - 8}">${day(points[0].logicalDate)}</text>
<text class="tick" x="${W - PAD.right}" y="${H - 8}" text-anchor="end">${day(points[points.length - 1].logicalDate)}</text>` : ''}
${line}${marks}
</svg></figure>`;
}

/** The four charts of a page of runs (oldest left), or a note when there are none. */
export function trendCharts(points: TrendPoint[]): Html {
  if (points.length === 0) return html`<p class="muted">No runs to chart yet.</p>`;
  return html`<div class="trends">${SERIES.map((s) => chart(s, points))}</div>
<p class="muted">Oldest run on the left; a red bar or dot is a failed run; each one links to its run.</p>`;
}
