/**
 * JSON API under /api: health, DAGs, runs (cursor-paginated), grid, a run with its files, checks,
 * attempts, logs, refused rows and report files, latest report (or one seller's row of it), a DAG's
 * newest reports (/dags/merchant_activity/reports: W3's five merchant metrics), and the actions (trigger, clear a run or a
 * task, mark, pause, backfill, bulk clear). Requests are validated by the zod schemas listed in `API_ROUTES` (which
 * also make /api/openapi.json), after dashboard/input-guards.ts: a POST that is not JSON is a 415, filter text with
 * control characters, an out-of-range cursor or a body nested too deep a 400. Params in runs are masked as the run
 * page masks them. Errors answer `{ error: CODE, message }` with 400/403/404/409/415/500 (503: data kept in a connection this process does not define).
 */
import { pipeline } from 'node:stream/promises';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Engine } from '../engine/engine.ts';
import type { CompiledDag, Json } from '../engine/types.ts';
import { describeError, TributaryError, type ErrorCode } from '../engine/errors.ts';
import { clearRun, unpauseDag } from '../engine/operations.ts';
import { confinePath, openConfined } from '../jobs/paths.ts';
import {
  BackfillBody, backfillRuns, clear, ClearBody, ClearFailedBody, clearFailed, mark, MarkBody, parseBody, pause, planDates, trigger, TriggerBody,
} from './actions.ts';
import { checkDepth, checkParams, CursorDate, FilterText, unreadableBody } from './input-guards.ts';
import { redactParams } from '../engine/secret-params.ts';
import { dagSummaries, getRun, latestReport, listRuns, runDetail } from './queries.ts';
import { auditOf, refusedPage, refusedPool } from './refused.ts';
import { AuditQuery } from './access-pages.ts';
import { listAudit } from '../engine/audit-log.ts';
import { UserStore } from './users.ts';
import { newestReports, reportRow } from './workloads.ts';
import { gridPage, loadFiles, LOG_CURSOR, logTail, reportPath, runAttempts, runChecks } from './ui-queries.ts';

const HEALTH_TIMEOUT_MS = 3000;

async function probe(check: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  } finally {
    clearTimeout(timer);
  }
}

export async function health(engine: Engine) {
  const queues = [...engine.options.kinds.keys()];
  const [database, queue] = await Promise.all([
    probe(() => engine.pool.query('SELECT 1')),
    probe(() => Promise.all(queues.map((q) => engine.backend.queue(q).getJobCounts('waiting', 'active')))),
  ]);
  return {
    status: database.ok && queue.ok ? 'ok' : 'unavailable',
    database,
    queues: { ...queue, backend: engine.backend.kind, names: queues },
  };
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  ARGUMENT_INVALID: 400,
  BACKFILL_TOO_LARGE: 400,
  RUN_NOT_FOUND: 404,
  DAG_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  REPORT_NOT_FOUND: 404,
  REPORT_ROW_NOT_FOUND: 404,
  PATH_OUTSIDE_ROOT: 403,
  RUN_EXISTS: 409,
  CONNECTION_UNDEFINED: 503,
};

/** The HTTP status of an error: by its code; a body express could not parse is a 400. */
export function statusOf(err: unknown): number {
  if (err instanceof TributaryError) return STATUS_BY_CODE[err.code] ?? 500;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}

export function idParam(value: string, what = 'run id'): number {
  if (!/^\d{1,15}$/.test(value)) throw new TributaryError('ARGUMENT_INVALID', `${what} "${value}" must be a positive whole number`);
  return Number(value);
}

const Cursor = z.coerce.number().int().positive();
const Limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

export const RunsQuery = z.object({
  /** @default 50 */
  limit: Limit(500, 50),
  /** Only runs with a logical date before this (the `x-next-cursor` of the previous page). */
  before: CursorDate.optional(),
});
export const GridQuery = z.object({ limit: Limit(100, 25), before: CursorDate.optional() });
export const LogsQuery = z.object({
  task: FilterText.min(1),
  /** @default 200 */
  limit: Limit(5000, 200),
  /** A log line's cursor: lines older than it (`olderBefore` of the previous page). */
  before: z.string().regex(LOG_CURSOR, 'must be the olderBefore of a log page').optional(),
  /** Only lines containing this text (case-insensitive). */
  q: FilterText.optional(),
});
export const RefusedQuery = z.object({
  task: FilterText.min(1),
  rule: FilterText.optional(),
  column: FilterText.optional(),
  /** Audit row id: rows after it (`nextAfter` of the previous page). */
  after: Cursor.optional(),
  /** @default 100 */
  limit: Limit(1000, 100),
});
export const BackfillQuery = z.object({ from: z.string(), to: z.string() });
export const ReportQuery = z.object({
  /** Only this seller's row (the report needs a seller_id column, e.g. W2's report_seller_health): 404 when it has none. */
  seller_id: z.string().regex(/^\d{1,15}$/, 'must be a positive whole number').optional(),
});

export interface ApiRoute {
  method: 'get' | 'post';
  path: string;
  summary: string;
  query?: z.ZodType;
  body?: z.ZodType;
}

/** Every API route with its request schemas: the router validates with them, /api/openapi.json is made from them. */
export const API_ROUTES: ApiRoute[] = [
  { method: 'get', path: '/health', summary: 'database and queue reachability (200 or 503)' },
  { method: 'get', path: '/dags', summary: 'every DAG with schedule, paused flag and newest run' },
  { method: 'get', path: '/dags/{dagId}/runs', summary: 'runs of a DAG, newest first; next page cursor in header x-next-cursor', query: RunsQuery },
  {
    method: 'post', path: '/dags/{dagId}/runs', body: TriggerBody,
    summary: 'trigger a run: without `date` a new manual run now (201); with `date` the run of that day — 200 when it exists with the same params '
      + '(nothing started), 409 RUN_EXISTS with other params. `started` false: `waitReason` says why it waits',
  },
  { method: 'get', path: '/dags/{dagId}/grid', summary: 'one page of the runs × tasks grid', query: GridQuery },
  { method: 'post', path: '/dags/{dagId}/pause', summary: 'pause a DAG' },
  { method: 'post', path: '/dags/{dagId}/unpause', summary: 'unpause a DAG (starts runs that waited); says how many runs the scheduler\'s next pass creates' },
  { method: 'get', path: '/dags/{dagId}/backfill', summary: 'how many runs a backfill would create', query: BackfillQuery },
  { method: 'post', path: '/dags/{dagId}/backfill', summary: 'create the runs of a date range', body: BackfillBody },
  { method: 'post', path: '/dags/{dagId}/clear-failed', summary: 'clear the failed tasks (and what follows them) of chosen runs', body: ClearFailedBody },
  { method: 'get', path: '/dags/{dagId}/reports', summary: 'every report of the DAG\'s newest run with reports, by task (merchant_activity: W3\'s five merchant metrics)' },
  { method: 'get', path: '/dags/{dagId}/reports/{taskId}/latest', summary: 'the newest report rows of a report task, or one seller\'s row', query: ReportQuery },
  { method: 'get', path: '/runs/{runId}', summary: 'a run with its tasks and warnings' },
  { method: 'get', path: '/runs/{runId}/files', summary: 'files the run\'s loads read, with row counts' },
  { method: 'get', path: '/runs/{runId}/checks', summary: 'checks of the run\'s current tries' },
  { method: 'get', path: '/runs/{runId}/attempts', summary: 'every attempt of every try' },
  { method: 'get', path: '/runs/{runId}/logs', summary: 'a task\'s log: its newest lines (oldest first within a page), older pages by the olderBefore cursor', query: LogsQuery },
  { method: 'get', path: '/runs/{runId}/refused', summary: 'refused rows of a load task, paged, filtered by rule and column', query: RefusedQuery },
  { method: 'get', path: '/runs/{runId}/reports/{reportId}/file', summary: 'a report\'s file (text/csv), served only from inside the data roots' },
  { method: 'post', path: '/runs/{runId}/clear', summary: 'clear every task of a run so it runs again whole, with its own params' },
  { method: 'post', path: '/runs/{runId}/tasks/{taskId}/clear', summary: 'clear a task (± downstream) so it runs again', body: ClearBody },
  { method: 'post', path: '/runs/{runId}/tasks/{taskId}/mark', summary: 'mark a task (or one mapped child) success or failed; a try it interrupts commits nothing', body: MarkBody },
  { method: 'get', path: '/audit', summary: 'the audit log, newest first: every operator action and login (user, role, via, address, target, params with secrets masked, outcome); older pages by the `before` id', query: AuditQuery },
  { method: 'get', path: '/users', summary: 'named users with role, password set or not, live tokens; and every token (admin only)' },
];

type Handler = (req: Request, res: Response) => Promise<unknown>;

/** A run as the API answers it: its DAG's secret params and secret-looking names masked, as the run page masks them. */
const masked = (dags: ReadonlyMap<string, CompiledDag>) => <R extends { dagId: string; params: Record<string, Json> }>(run: R): R =>
  ({ ...run, params: redactParams(dags.get(run.dagId), run.params) });

export function apiRouter(engine: Engine, log: Logger, opts: { backfillMaxRuns: number }): Router {
  const router = Router();
  router.use(express.json({ limit: '256kb' }));
  const schemaOf = (method: string, path: string) => API_ROUTES.find((r) => r.method === method && r.path === path);
  /** Registers `path` (OpenAPI form) with its schemas; the handler gets the validated query and body. */
  const route = (method: 'get' | 'post', path: string, fn: (req: Request, res: Response, input: { query: never; body: never }) => Promise<unknown>) => {
    const spec = schemaOf(method, path);
    if (!spec) throw new Error(`API route ${method} ${path} is missing from API_ROUTES`);
    const handler: Handler = async (req, res) => {
      const what = `${method.toUpperCase()} /api${path}`;
      const unreadable = method === 'post' ? unreadableBody(req, spec.body !== undefined) : null;
      if (unreadable) return void res.status(415).json({ error: 'UNSUPPORTED_MEDIA_TYPE', message: unreadable });
      if (spec.body) checkDepth(req.body, `${what}: the body`);
      const query = spec.query ? parseBody(spec.query, req.query, what) : {};
      const body = spec.body ? parseBody(spec.body, req.body ?? {}, what) : {};
      const out = await fn(req, res, { query: query as never, body: body as never });
      if (!res.headersSent) res.json(out);
    };
    router[method](path.replace(/\{(\w+)\}/g, ':$1'), (req, res, next: NextFunction) => void handler(req, res).catch(next));
  };
  const dagOf = (req: Request) => engine.dag(req.params.dagId as string);
  const runOf = (req: Request) => idParam(req.params.runId as string);

  route('get', '/health', async (_req, res) => {
    const report = await health(engine);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  route('get', '/dags', () => dagSummaries(engine.pool, engine.dags.values()));
  route('get', '/dags/{dagId}/runs', async (req, res, { query }: { query: z.output<typeof RunsQuery> }) => {
    const runs = await listRuns(engine.pool, dagOf(req).id, query.limit, query.before ? new Date(query.before) : undefined);
    if (runs.length === query.limit) res.set('x-next-cursor', runs[runs.length - 1].logicalDate.toISOString());
    return runs.map(masked(engine.dags));
  });
  route('post', '/dags/{dagId}/runs', async (req, res, { body }: { body: z.output<typeof TriggerBody> }) => {
    checkParams(body.params);
    const result = await trigger(engine, dagOf(req), body, res.locals.principal?.name);
    res.status(result.created ? 201 : 200);
    return result;
  });
  route('get', '/dags/{dagId}/grid', async (req, _res, { query }: { query: z.output<typeof GridQuery> }) => {
    const dag = dagOf(req);
    const grid = await gridPage(engine.pool, dag.id, query.limit, query.before ? new Date(query.before) : undefined);
    return {
      runs: grid.runs,
      tasks: dag.order.map((taskId) => ({ taskId, cells: grid.runs.map((r) => grid.cells.get(taskId)?.get(r.id) ?? null) })),
      nextBefore: grid.nextBefore,
    };
  });
  route('post', '/dags/{dagId}/pause', async (req) => {
    await pause(engine, dagOf(req), true);
    return { dagId: dagOf(req).id, paused: true };
  });
  route('post', '/dags/{dagId}/unpause', async (req) => {
    const done = await unpauseDag(engine.pool, engine.dispatcher, dagOf(req));
    return { dagId: dagOf(req).id, paused: false, ...done };
  });
  route('get', '/dags/{dagId}/backfill', async (req, _res, { query }: { query: z.output<typeof BackfillQuery> }) => {
    const body = parseBody(BackfillBody, { ...query, confirmed: true }, 'backfill');
    return { from: body.from, to: body.to, runs: planDates(dagOf(req), body, opts.backfillMaxRuns).length };
  });
  route('post', '/dags/{dagId}/backfill', (req, res, { body }: { body: z.output<typeof BackfillBody> }) =>
    backfillRuns(engine, dagOf(req), body, opts.backfillMaxRuns, res.locals.principal?.name));
  route('post', '/dags/{dagId}/clear-failed', (req, _res, { body }: { body: z.output<typeof ClearFailedBody> }) =>
    clearFailed(engine, dagOf(req), body));
  route('get', '/dags/{dagId}/reports/{taskId}/latest', async (req, _res, { query }: { query: z.output<typeof ReportQuery> }) => {
    const dag = dagOf(req);
    const taskId = req.params.taskId as string;
    if (!dag.tasks.has(taskId)) throw new TributaryError('TASK_NOT_FOUND', `dag "${dag.id}" has no task "${taskId}"`);
    if (query.seller_id !== undefined) return reportRow(engine.pool, dag.id, taskId, 'seller_id', String(Number(query.seller_id)));
    return latestReport(engine.pool, dag.id, taskId);
  });
  route('get', '/dags/{dagId}/reports', (req) => {
    const dag = dagOf(req);
    return newestReports(engine.pool, dag.id, [...dag.tasks.values()].filter((t) => t.kind === 'report').map((t) => t.id));
  });
  route('get', '/runs/{runId}', async (req) => masked(engine.dags)(await runDetail(engine.pool, runOf(req), engine.dags)));
  route('get', '/runs/{runId}/files', async (req) => (await getRun(engine.pool, runOf(req)), loadFiles(engine.pool, runOf(req))));
  route('get', '/runs/{runId}/checks', async (req) => (await getRun(engine.pool, runOf(req)), runChecks(engine.pool, runOf(req))));
  route('get', '/runs/{runId}/attempts', async (req) => (await getRun(engine.pool, runOf(req)), runAttempts(engine.pool, runOf(req))));
  route('get', '/runs/{runId}/logs', async (req, _res, { query }: { query: z.output<typeof LogsQuery> }) => {
    await getRun(engine.pool, runOf(req));
    return logTail(engine.pool, runOf(req), query.task, { limit: query.limit, before: query.before, search: query.q });
  });
  route('get', '/runs/{runId}/refused', async (req, _res, { query }: { query: z.output<typeof RefusedQuery> }) => {
    const run = await getRun(engine.pool, runOf(req));
    const source = auditOf(engine.dag(run.dagId), query.task);
    return refusedPage(refusedPool(engine.pool, source), source.audit, run.id, query.task, query, { after: query.after, limit: query.limit });
  });
  route('get', '/runs/{runId}/reports/{reportId}/file', async (req, res) => {
    const run = await getRun(engine.pool, runOf(req));
    const report = await reportPath(engine.pool, run.id, idParam(req.params.reportId as string, 'report id'));
    const roots = [...engine.dataRoots, ...(engine.dags.get(run.dagId)?.dataRoots ?? [])];
    const file = await confinePath(report.path, roots, `report of run ${run.id}`);
    // Served from the handle checked inside the roots, never by its name again (a swapped link leads nowhere).
    const opened = await openConfined(file, roots, `report of run ${run.id}`).catch((err: unknown) => {
      if ((err as { code?: string }).code !== 'FILE_NOT_FOUND') throw err;
      throw new TributaryError('REPORT_NOT_FOUND', `the file of report ${report.fileName} of run ${run.id} is gone from ${file}`);
    });
    res.type('text/csv').attachment(report.fileName).setHeader('Content-Length', opened.stat.size);
    await pipeline(opened.handle.createReadStream(), res); // the stream closes the handle
  });
  route('post', '/runs/{runId}/clear', async (req) => {
    const run = await getRun(engine.pool, runOf(req));
    return { cleared: await clearRun(engine.pool, engine.dispatcher, engine.dag(run.dagId), run.id) };
  });
  route('post', '/runs/{runId}/tasks/{taskId}/clear', async (req, _res, { body }: { body: z.output<typeof ClearBody> }) =>
    ({ cleared: await clear(engine, runOf(req), req.params.taskId as string, body) }));
  route('post', '/runs/{runId}/tasks/{taskId}/mark', async (req, _res, { body }: { body: z.output<typeof MarkBody> }) => {
    const done = await mark(engine, runOf(req), req.params.taskId as string, body);
    return { taskId: req.params.taskId, ...body, ...done };
  });
  route('get', '/audit', (_req, _res, { query }: { query: z.output<typeof AuditQuery> }) => listAudit(engine.pool, query));
  route('get', '/users', async () => {
    const users = new UserStore(engine.pool);
    const [list, tokens] = await Promise.all([users.list(), users.listTokens()]);
    return { users: list, tokens };
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = statusOf(err);
    if (status === 500) log.error({ err }, 'dashboard API request failed');
    const code = err instanceof TributaryError ? err.code : status === 500 ? 'INTERNAL' : 'ARGUMENT_INVALID';
    res.status(status).json({ error: code, message: describeError(err) });
  });
  return router;
}
