/**
 * Puts every state-changing dashboard request in the audit log (engine/audit-log.ts) once its
 * answer is sent — UI forms, the API, bull-board's job actions and /login, allowed or refused — so a
 * route added later is recorded without anyone remembering to. Who: the request's principal (or the
 * user name a login tried); what: an action and target read from the path (`trigger` / `dag orders`);
 * how it ended: the HTTP status, and the error message of a refusal. The body goes in as params with
 * credentials dropped and secrets masked (engine/secret-params.ts). A write that fails is logged as an
 * error, never dropped in silence.
 */
import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import type { Logger } from 'pino';
import { recordAudit, type AuditEvent, type AuditVia } from '../engine/audit-log.ts';
import { redact, redactParams, REDACTED } from '../engine/secret-params.ts';
import { checkParams } from './input-guards.ts';
import type { CompiledDag, Json } from '../engine/types.ts';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Body fields that are credentials or plumbing, never recorded. */
const DROPPED = new Set(['_csrf', 'token', 'password', 'next']);

/** Path → action and target; the first match wins, anything else is `<METHOD> <path>`. */
const ACTIONS: Array<[RegExp, (m: RegExpExecArray) => { action: string; target: string | null }]> = [
  [/^\/login$/, () => ({ action: 'login', target: null })],
  [/^\/logout$/, () => ({ action: 'logout', target: null })],
  [/^\/sessions\/revoke$/, () => ({ action: 'sessions.revoke', target: null })],
  [/^(?:\/api)?\/dags\/([^/]+)\/(?:runs|trigger)$/, (m) => ({ action: 'trigger', target: `dag ${m[1]}` })],
  [/^(?:\/api)?\/dags\/([^/]+)\/(pause|unpause|backfill|clear-failed)$/, (m) => ({ action: m[2], target: `dag ${m[1]}` })],
  [/^(?:\/api)?\/runs\/(\d+)\/clear$/, (m) => ({ action: 'clear-run', target: `run ${m[1]}` })],
  [/^(?:\/api)?\/runs\/(\d+)\/tasks\/([^/]+)\/(clear|mark)$/, (m) => ({ action: m[3], target: `run ${m[1]} task ${m[2]}` })],
  [/^\/queues\/api\/(.+)$/, (m) => ({ action: 'queue', target: m[1] })],
];

function describe(method: string, path: string): { action: string; target: string | null } {
  for (const [pattern, make] of ACTIONS) {
    const m = pattern.exec(path);
    if (m) return make(m);
  }
  return { action: `${method} ${path}`, target: null };
}

const viaOf = (path: string): AuditVia => (path.startsWith('/api/') ? 'api' : path.startsWith('/queues') ? 'board' : 'ui');

/**
 * The body as recorded: credentials dropped, secret-looking names masked at any depth, and the
 * DAG's declared secrets masked in `params` (API) and in the trigger form's `param.<name>` fields;
 * the form's raw JSON `params` text is recorded parsed (masked), or not at all when it is not JSON.
 */
export function recordedParams(body: unknown, dag: CompiledDag | undefined): Json | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  if (!withinLimits(body)) return { unrecorded: 'the body is nested too deep or too large to record (it was refused)' };
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(body as Record<string, Json>)) {
    if (DROPPED.has(key)) continue;
    if (key.startsWith('param.')) {
      out[key] = redactParams(dag, { [key.slice(6)]: value })[key.slice(6)];
    } else if (key === 'params' && typeof value === 'string') {
      out[key] = parsedParams(value, dag);
    } else if (key === 'params' && value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = redactParams(dag, value);
    } else {
      out[key] = (redact({ [key]: value }) as Record<string, Json>)[key];
    }
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The request limits of dashboard/input-guards.ts: only a body within them is walked (never recursing into an attacker's 10,000 levels). */
function withinLimits(value: unknown): boolean {
  try {
    checkParams(value);
    return true;
  } catch {
    return false;
  }
}

function parsedParams(text: string, dag: CompiledDag | undefined): Json {
  if (text.trim() === '') return '';
  try {
    const parsed = JSON.parse(text) as Json;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) && withinLimits(parsed) ? redactParams(dag, parsed) : REDACTED;
  } catch {
    return REDACTED;
  }
}

/** `source.dags` is read at each request: a reloaded DAG file's secrets count at once. */
export function auditTrail(source: { pool: pg.Pool; dags: ReadonlyMap<string, CompiledDag> }, log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (READS.has(req.method)) return next();
    const path = req.path;
    // The message of a JSON refusal (API, CSRF, role) goes in as the detail.
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const message = (body as { message?: unknown } | null)?.message;
      if (res.statusCode >= 400 && typeof message === 'string') res.locals.auditDetail ??= message;
      return json(body);
    };
    res.on('finish', () => {
      try {
        record();
      } catch (err) {
        log.error({ err, path }, `audit log entry for ${req.method} ${path} could not be made`);
      }
    });
    const record = () => {
      const { action, target } = describe(req.method, path);
      const dagId = /^dag (.+)$/.exec(target ?? '')?.[1];
      const principal = res.locals.principal;
      const event: AuditEvent = {
        actor: principal?.name ?? res.locals.loginUser ?? '-',
        role: principal?.role ?? null,
        via: viaOf(path),
        action,
        target,
        params: recordedParams(req.body, dagId === undefined ? undefined : source.dags.get(dagId)),
        outcome: res.statusCode < 400 ? 'ok' : res.statusCode < 500 ? 'refused' : 'failed',
        status: res.statusCode,
        address: req.socket.remoteAddress ?? null,
        detail: res.locals.auditDetail ?? null,
      };
      recordAudit(source.pool, event).catch((err: unknown) => log.error({ err, action, actor: event.actor }, `audit log write failed for ${action} by ${event.actor}`));
    };
    next();
  };
}

declare module 'express-serve-static-core' {
  interface Locals {
    /** Why a state change was refused, for the audit log. */
    auditDetail?: string;
  }
}
