/**
 * JSON API: /api/health (database ping + queue reachability → 200 or 503), /api/dags,
 * /api/dags/:dagId/runs, /api/dags/:dagId/reports/:taskId/latest (rows as JSON), /api/runs/:id. Errors answer `{ error: CODE, message }` with 400/404/500.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.ts';
import { describeError, TributaryError, type ErrorCode } from '../engine/errors.ts';
import { dagSummaries, latestReport, listRuns, runDetail } from './queries.ts';

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
  RUN_NOT_FOUND: 404,
  DAG_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  REPORT_NOT_FOUND: 404,
};

function idParam(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new TributaryError('ARGUMENT_INVALID', `run id "${value}" must be a positive whole number`);
  return Number(value);
}

export function apiRouter(engine: Engine, log: Logger): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    const report = await health(engine);
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  router.get('/dags', async (_req, res) => {
    res.json(await dagSummaries(engine.pool, engine.dags.values()));
  });
  router.get('/dags/:dagId/runs', async (req, res) => {
    const dag = engine.dag(req.params.dagId);
    const limit = Math.min(500, Number(req.query.limit) > 0 ? Number(req.query.limit) : 50);
    res.json(await listRuns(engine.pool, dag.id, limit));
  });
  router.get('/dags/:dagId/reports/:taskId/latest', async (req, res) => {
    const dag = engine.dag(req.params.dagId);
    if (!dag.tasks.has(req.params.taskId)) throw new TributaryError('TASK_NOT_FOUND', `dag "${dag.id}" has no task "${req.params.taskId}"`);
    res.json(await latestReport(engine.pool, dag.id, req.params.taskId));
  });
  router.get('/runs/:id', async (req, res) => {
    res.json(await runDetail(engine.pool, idParam(req.params.id), engine.dags));
  });
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof TributaryError ? (STATUS_BY_CODE[err.code] ?? 500) : 500;
    if (status === 500) log.error({ err }, 'dashboard API request failed');
    res.status(status).json({ error: err instanceof TributaryError ? err.code : 'INTERNAL', message: describeError(err) });
  });
  return router;
}
