/**
 * The DAG's graph as server-rendered inline SVG: tasks in rows by topological depth (longest path
 * from a root, from CompiledDag.order/upstream; roots on top, each row centred), edges upstream →
 * downstream, each node
 * coloured by one run's task state (mapped tasks show their count) and linked to that run's page.
 */
import type pg from 'pg';
import { TributaryError } from '../../engine/errors.ts';
import type { CompiledDag } from '../../engine/types.ts';
import { day, html, type Html } from '../html.ts';
import { gridPage, type GridCell } from '../ui-queries.ts';

export interface GraphRun { id: number; state: string; logicalDate: Date; cells: Map<string, GridCell> }

/**
 * The run the graph colours: `runId` if given (it must be one of this DAG's runs), else the newest.
 * Its cells come from the grid's own query, asked for the one run at or just before its logical date.
 */
export async function graphRun(pool: pg.Pool, dagId: string, runId?: number): Promise<GraphRun | null> {
  // By primary key when picked, else the newest by the (dag_id, logical_date) index: never a scan of the DAG's runs.
  const { rows } = await pool.query<{ id: string; logicalDate: Date }>(runId === undefined
    ? { text: `SELECT id, logical_date AS "logicalDate" FROM dag_runs WHERE dag_id = $1 ORDER BY logical_date DESC LIMIT 1`, values: [dagId] }
    : { text: `SELECT id, logical_date AS "logicalDate" FROM dag_runs WHERE id = $2 AND dag_id = $1`, values: [dagId, runId] });
  if (rows.length === 0) {
    if (runId === undefined) return null;
    throw new TributaryError('RUN_NOT_FOUND', `run ${runId} is not a run of DAG "${dagId}"`);
  }
  const id = Number(rows[0].id);
  const grid = await gridPage(pool, dagId, 1, new Date(rows[0].logicalDate.getTime() + 1));
  const run = grid.runs.find((r) => r.id === id);
  const cells = new Map([...grid.cells].flatMap(([taskId, byRun]) => {
    const cell = byRun.get(id);
    return cell ? [[taskId, cell] as const] : [];
  }));
  return { id, state: run?.state ?? 'none', logicalDate: rows[0].logicalDate, cells };
}

export interface Placed { id: string; layer: number; row: number }

/** Layer = longest path from a root; within a layer, tasks keep the DAG's topological order. */
export function layers(dag: CompiledDag): Placed[] {
  const depth = new Map<string, number>();
  const rows: number[] = [];
  return dag.order.map((id) => {
    const layer = Math.max(-1, ...(dag.tasks.get(id)?.upstream ?? []).map((u) => depth.get(u) ?? 0)) + 1;
    depth.set(id, layer);
    rows[layer] = (rows[layer] ?? -1) + 1;
    return { id, layer, row: rows[layer] };
  });
}

const NODE_W = 196;
const NODE_H = 40;
const GAP_X = 16;
const GAP_Y = 36;
const MAX_LABEL = 24;

function label(cell: GridCell | undefined): string {
  if (!cell) return 'not started';
  if (cell.mapped > 0) return `×${cell.mapped} · ${Object.entries(cell.states).map(([s, n]) => `${n} ${s}`).join(', ')}`;
  return cell.tryNumber > 1 ? `${cell.state} · try ${cell.tryNumber}` : cell.state;
}

const short = (text: string) => (text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text);

export function dagGraph(dag: CompiledDag, run: GraphRun | null): Html {
  const placed = layers(dag);
  const at = new Map(placed.map((p) => [p.id, p]));
  const perLayer: number[] = [];
  for (const p of placed) perLayer[p.layer] = Math.max(perLayer[p.layer] ?? 0, p.row + 1);
  const widest = Math.max(...perLayer);
  const width = widest * (NODE_W + GAP_X) - GAP_X + 2;
  const height = perLayer.length * (NODE_H + GAP_Y) - GAP_Y + 2;
  const left = (p: Placed) => 1 + ((widest - perLayer[p.layer]) / 2 + p.row) * (NODE_W + GAP_X);
  const top = (p: Placed) => 1 + p.layer * (NODE_H + GAP_Y);
  // An edge leaves its task's bottom and enters the other's top at a slot of its own, ordered by where the other end is.
  const byX = (ids: string[]) => [...ids].sort((u, v) => left(at.get(u)!) - left(at.get(v)!));
  const slot = (p: Placed, others: string[], other: string) => left(p) + (NODE_W * (byX(others).indexOf(other) + 1)) / (others.length + 1);
  const edges = placed.flatMap((to) => (dag.tasks.get(to.id)?.upstream ?? []).map((from) => {
    const a = at.get(from)!;
    const x1 = slot(a, dag.tasks.get(from)?.downstream ?? [], to.id);
    const x2 = slot(to, dag.tasks.get(to.id)?.upstream ?? [], from);
    const [y1, y2] = [top(a) + NODE_H, top(to) - 2];
    const mid = (y1 + y2) / 2;
    return html`<path class="edge" data-from="${from}" data-to="${to.id}" d="M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}" marker-end="url(#arrow)"/>`;
  }));
  const nodes = placed.map((p) => {
    const cell = run?.cells.get(p.id);
    const state = cell?.state ?? 'none';
    const text = label(cell);
    const node = html`<g class="node s-${state.replace(/[^a-z_]/g, '')}" data-task="${p.id}" data-state="${state}"${cell?.mapped ? html` data-mapped="${cell.mapped}"` : ''}>
<title>${p.id}: ${text}</title>
<rect x="${left(p)}" y="${top(p)}" width="${NODE_W}" height="${NODE_H}" rx="5"/>
<text class="name" x="${left(p) + 8}" y="${top(p) + 16}">${short(p.id)}</text>
<text class="state" x="${left(p) + 8}" y="${top(p) + 32}">${short(text)}</text></g>`;
    return run ? html`<a href="/runs/${run.id}#task-${p.id}">${node}</a>` : node;
  });
  const about = run ? `Colours: run ${run.id} of ${day(run.logicalDate)} (${run.state}).` : 'No runs yet: tasks are not coloured.';
  return html`<figure class="dag-graph scroll" id="graph">
<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="graph-title graph-desc">
<title id="graph-title">${dag.id}: ${placed.length} tasks</title>
<desc id="graph-desc">Tasks top to bottom in dependency order; ${about}</desc>
<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>
${edges}${nodes}</svg>
<figcaption class="muted">${about}</figcaption></figure>`;
}
