/**
 * The web UI's routes: pages (GET, server-rendered) and form actions (POST, CSRF-checked by
 * dashboard/auth.ts before they get here, then POST → redirect → GET with a one-shot flash
 * cookie). A failed action re-renders its page with the error; errors of pages render as HTML.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.ts';
import type { CompiledDag } from '../engine/types.ts';
import { describeError, TributaryError } from '../engine/errors.ts';
import type { TriggerResult } from '../engine/operations.ts';
import {
  backfillRuns, BackfillBody, clear, ClearFailedBody, clearFailed, mark, MarkBody, parseBody, pause, planDates, trigger, TriggerBody,
} from './actions.ts';
import { formToParams, paramFields, readForm, type FormProblems, type ParamField, type TriggerForm } from './params-form.ts';
import { html, layout } from './html.ts';
import { checkParams, cursorDate, filterText, formBodyOnly } from './input-guards.ts';
import { backfillPage, dagPage } from './pages/dag.ts';
import { homePage } from './pages/home.ts';
import { refusedBrowserPage, type RefusedView } from './pages/refused.ts';
import { runPage } from './pages/run.ts';
import { auditOf, refusedCsv, refusedPool } from './refused.ts';
import { getRun } from './queries.ts';
import { logCursor } from './ui-queries.ts';
import { idParam, statusOf } from './api.ts';

const FLASH_COOKIE = 'tributary_flash';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function takeFlash(req: Request, res: Response): string | undefined {
  const raw = /(?:^|;\s*)tributary_flash=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
  if (raw === undefined) return undefined;
  res.clearCookie(FLASH_COOKIE, { path: '/' });
  return decodeURIComponent(raw);
}

function done(res: Response, location: string, message: string): void {
  res.cookie(FLASH_COOKIE, message, { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 60_000 });
  res.redirect(303, location);
}

/** The flash after a trigger: created or not, started or why not. */
function triggered(r: TriggerResult): string {
  if (!r.created) return `Run ${r.runId} of ${r.logicalDate.toISOString().slice(0, 10)} already exists (${r.state}); nothing changed.`;
  if (r.started) return `Run ${r.runId} created and started.`;
  return `Run ${r.runId} created, not started: ${r.waitReason ?? r.state}.`;
}

/** A refused trigger's problems by field: validateParams' `details.params`, else the whole message. */
function problemsOf(err: TributaryError, fields: ParamField[]): FormProblems {
  const byParam = (err.details?.params ?? {}) as Record<string, string>;
  const known = new Set(fields.map((f) => f.name));
  const other = Object.entries(byParam).filter(([name]) => !known.has(name)).map(([name, message]) => `${name}: ${message}`);
  return { byParam, other: Object.keys(byParam).length === 0 ? [err.message] : other };
}

/**
 * A viewer's page: its action forms hidden (style.css `body.read-only`; the server refuses them
 * anyway, dashboard/roles.ts) and a line saying why and who can change it.
 */
function readOnlyFor(res: Response, page: string): string {
  const principal = res.locals.principal;
  if (principal?.role !== 'viewer') return page;
  const note = html`<p class="flash" role="status" id="read-only">Read-only: you are signed in as ${principal.name}, a viewer. An admin lets you act with <code>trib users role ${principal.name} operator</code>.</p>`;
  return page.replace('<body>', '<body class="read-only">').replace('<main>\n', `<main>\n${note.text}`);
}

type Handler = (req: Request, res: Response) => Promise<void>;
const page = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => fn(req, res).catch(next);

export function uiRouter(engine: Engine, log: Logger, opts: { backfillMaxRuns: number }): Router {
  const router = Router();
  const form = [express.urlencoded({ extended: false, limit: '256kb' }), formBodyOnly];
  const send = (res: Response, body: string, status = 200) => res.status(status).type('html').send(readOnlyFor(res, body));

  router.get('/', page(async (req, res) => {
    const filter = { failed: req.query.failed === '1', paused: req.query.paused === '1', name: text(req.query.name) ?? '' };
    send(res, await homePage(engine.pool, engine.dags.values(), filter, res.locals.csrf, takeFlash(req, res)));
  }));

  router.get('/dags/:dagId', page(async (req, res) => {
    const dag = engine.dag(req.params.dagId as string);
    const beforeDate = cursorDate(text(req.query.before), 'before');
    const run = text(req.query.run);
    send(res, await dagPage(engine.pool, dag, {
      before: beforeDate, run: run ? idParam(run) : undefined, csrf: res.locals.csrf, flash: takeFlash(req, res),
    }));
  }));

  // The form's params are checked by validateParams (in triggerRun): a refusal re-renders the form
  // with each message beside its field and what was typed kept.
  router.post('/dags/:dagId/trigger', form, page(async (req, res) => {
    const dag = engine.dag(req.params.dagId as string);
    const fields = paramFields(dag);
    const typed: TriggerForm = readForm(req.body as Record<string, unknown>, fields);
    const refuse = async (problems: FormProblems, message: string) => send(res, await dagPage(engine.pool, dag, {
      csrf: res.locals.csrf, flash: `Not triggered: ${message}`, flashError: true, trigger: { form: typed, problems },
    }), 400);
    try {
      const { params, problems } = formToParams(fields, typed);
      checkParams(params);
      if (Object.keys(problems).length > 0) {
        await refuse({ byParam: problems, other: [] }, 'a param is not valid JSON (see the form).');
        return;
      }
      const body = parseBody(TriggerBody, { date: typed.date || undefined, params }, `trigger of "${dag.id}"`);
      const result = await trigger(engine, dag, body, res.locals.principal?.name);
      done(res, `/runs/${result.runId}`, triggered(result));
    } catch (err) {
      if (!(err instanceof TributaryError) || statusOf(err) >= 500) throw err;
      await refuse(problemsOf(err, fields), err.message);
    }
  }));

  for (const paused of [true, false]) {
    router.post(`/dags/:dagId/${paused ? 'pause' : 'unpause'}`, page(async (req, res) => {
      const dag = engine.dag(req.params.dagId as string);
      await pause(engine, dag, paused);
      // From the DAG page, back to it; from the list, to the list.
      const back = (req.body as { next?: unknown } | undefined)?.next === 'dag' ? `/dags/${encodeURIComponent(dag.id)}` : '/';
      done(res, back, `${dag.id} ${paused ? 'paused' : 'unpaused'}.`);
    }));
  }

  const backfillPlan = (dag: CompiledDag, from: unknown, to: unknown) => {
    const body = parseBody(BackfillBody, { from: text(from), to: text(to), confirmed: true }, `backfill of "${dag.id}"`);
    return { from: body.from, to: body.to, count: planDates(dag, body, opts.backfillMaxRuns).length, maxRuns: opts.backfillMaxRuns };
  };

  router.get('/dags/:dagId/backfill', page(async (req, res) => {
    const dag = engine.dag(req.params.dagId as string);
    send(res, backfillPage(dag, backfillPlan(dag, req.query.from, req.query.to), res.locals.csrf));
  }));

  // As the API: more than BACKFILL_MAX_RUNS runs only with the explicit confirmation (`confirmed`).
  router.post('/dags/:dagId/backfill', form, page(async (req, res) => {
    const dag = engine.dag(req.params.dagId as string);
    const confirmed = req.body.confirmed === 'yes';
    const body = parseBody(BackfillBody, { from: text(req.body.from), to: text(req.body.to), confirmed }, `backfill of "${dag.id}"`);
    try {
      const { runs, created } = await backfillRuns(engine, dag, body, opts.backfillMaxRuns, res.locals.principal?.name);
      done(res, `/dags/${encodeURIComponent(dag.id)}`, `Backfill ${body.from} → ${body.to}: ${created} runs created (${runs - created} existed).`);
    } catch (err) {
      if (!(err instanceof TributaryError) || err.code !== 'BACKFILL_TOO_LARGE' || confirmed) throw err;
      const plan = backfillPlan(dag, body.from, body.to);
      send(res, backfillPage(dag, plan, res.locals.csrf,
        `Not created: ${plan.count} runs is more than BACKFILL_MAX_RUNS=${plan.maxRuns}. Tick the confirmation to create them all (the CLI's trib backfill --yes), or pick a shorter range.`), 400);
    }
  }));

  router.post('/dags/:dagId/clear-failed', form, page(async (req, res) => {
    const dag = engine.dag(req.params.dagId as string);
    const ids = ([] as unknown[]).concat(req.body.runId ?? []).map((v) => idParam(String(v)));
    const result = await clearFailed(engine, dag, parseBody(ClearFailedBody, { runIds: ids }, 'bulk clear (select at least one run)'));
    const tasks = result.reduce((n, r) => n + r.cleared.length, 0);
    done(res, `/dags/${encodeURIComponent(dag.id)}`, `Cleared ${tasks} tasks in ${result.length} runs.`);
  }));

  router.get('/runs/:id', page(async (req, res) => {
    const runId = idParam(req.params.id as string);
    const taskId = filterText(text(req.query.log), 'log');
    const before = text(req.query.before);
    const log = taskId ? { taskId, before: before ? logCursor(before) : undefined, search: filterText(text(req.query.q), 'q') } : undefined;
    send(res, await runPage(engine.pool, runId, engine.dags, { csrf: res.locals.csrf, flash: takeFlash(req, res), log }));
  }));

  router.post('/runs/:id/tasks/:taskId/clear', form, page(async (req, res) => {
    const runId = idParam(req.params.id as string);
    const cleared = await clear(engine, runId, req.params.taskId as string, { downstream: req.body.downstream === '1' });
    done(res, `/runs/${runId}`, `Cleared ${cleared.join(', ')}.`);
  }));

  router.post('/runs/:id/tasks/:taskId/mark', form, page(async (req, res) => {
    const runId = idParam(req.params.id as string);
    const body = parseBody(MarkBody, { state: req.body.state }, 'mark');
    await mark(engine, runId, req.params.taskId as string, body);
    done(res, `/runs/${runId}`, `Marked ${req.params.taskId} ${body.state}.`);
  }));

  const refusedView = (req: Request): RefusedView => {
    const taskId = filterText(text(req.query.task), 'task');
    if (!taskId) throw new TributaryError('ARGUMENT_INVALID', 'name the load task: ?task=<task id>');
    const after = text(req.query.after);
    const rule = filterText(text(req.query.rule), 'rule');
    return { taskId, rule, column: filterText(text(req.query.column), 'column'), after: after ? idParam(after, 'cursor') : undefined };
  };

  router.get('/runs/:id/refused', page(async (req, res) => {
    send(res, await refusedBrowserPage(engine.pool, idParam(req.params.id as string), engine.dags, refusedView(req), res.locals.csrf));
  }));

  router.get('/runs/:id/refused.csv', page(async (req, res) => {
    const runId = idParam(req.params.id as string);
    const view = refusedView(req);
    const source = auditOf(engine.dag((await getRun(engine.pool, runId)).dagId), view.taskId);
    const pool = refusedPool(engine.pool, source);
    res.type('text/csv').attachment(`run-${runId}-${view.taskId}-refused.csv`);
    for await (const chunk of refusedCsv(pool, source.audit, runId, view.taskId, view)) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  }));

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = statusOf(err);
    if (status === 500) log.error({ err }, 'dashboard page failed');
    const code = err instanceof TributaryError ? err.code : 'INTERNAL';
    // The heading names the code; the message under it does not repeat it.
    const message = err instanceof TributaryError ? err.message : describeError(err);
    send(res, layout({ title: code, csrf: res.locals.csrf, body: html`<h1>${code}</h1><p class="flash error" role="alert">${message}</p><p><a href="/">Back to the DAGs</a></p>` }), status);
  });
  return router;
}
