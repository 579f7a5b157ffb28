/**
 * Request input checked before it reaches Postgres or anything that recurses on it, so a bad value
 * is a 400 naming the parameter (ARGUMENT_INVALID) rather than a database error logged as a 500:
 * filter text without control characters (Postgres refuses NUL in text), a `before` cursor that is an
 * ISO date-time of years 0001–9999 (Postgres's range holds them all), JSON no deeper than
 * MAX_JSON_DEPTH levels, run params no larger than MAX_PARAMS_BYTES of JSON. A JSON API POST must
 * send a body as `Content-Type: application/json` (415 otherwise; no body at all reads as `{}`).
 */
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { TributaryError } from '../engine/errors.ts';

export const MAX_JSON_DEPTH = 32;
export const MAX_PARAMS_BYTES = 64 * 1024;

const CONTROL = /[\u0000-\u001f\u007f]/;
const NO_CONTROL = 'must not contain control characters (NUL, newline, tab, …)';

/** A filter or id given as query text: refuses control characters. */
export const FilterText = z.string().refine((s) => !CONTROL.test(s), NO_CONTROL);

const CURSOR_FORM = 'an ISO date-time such as 2026-01-31T00:00:00Z, years 0001–9999';

/** A `before` cursor: an ISO date-time with offset whose UTC year is 1–9999. */
export const CursorDate = z.iso.datetime({ offset: true, error: `must be ${CURSOR_FORM}` }).refine((s) => {
  const year = new Date(s).getUTCFullYear();
  return year >= 1 && year <= 9999;
}, `must be ${CURSOR_FORM}`);

/** The UI's query text `value` of parameter `name`, refused when it holds a control character. */
export function filterText(value: string | undefined, name: string): string | undefined {
  if (value !== undefined && CONTROL.test(value)) throw new TributaryError('ARGUMENT_INVALID', `${name} ${NO_CONTROL}`);
  return value;
}

/** The UI's `before` cursor as a Date, refused unless it is CURSOR_FORM. */
export function cursorDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!CursorDate.safeParse(value).success) {
    throw new TributaryError('ARGUMENT_INVALID', `${name} "${value.slice(0, 40)}" is not a cursor: use ${CURSOR_FORM}`);
  }
  return new Date(value);
}

/** Refuses `value` nested deeper than MAX_JSON_DEPTH levels; walks with its own stack (never recurses). */
export function checkDepth(value: unknown, what: string): void {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > MAX_JSON_DEPTH) {
      throw new TributaryError('ARGUMENT_INVALID', `${what} is nested deeper than ${MAX_JSON_DEPTH} levels (the limit)`);
    }
    for (const child of Object.values(v)) stack.push({ v: child, depth: depth + 1 });
  }
}

/** Run params: at most MAX_JSON_DEPTH levels deep and MAX_PARAMS_BYTES of JSON. */
export function checkParams(params: unknown, what = 'params'): void {
  checkDepth(params, what);
  const bytes = Buffer.byteLength(JSON.stringify(params) ?? '');
  if (bytes > MAX_PARAMS_BYTES) {
    throw new TributaryError('ARGUMENT_INVALID', `${what} are ${bytes} bytes of JSON, more than the limit of ${MAX_PARAMS_BYTES}`);
  }
}

/**
 * Why a JSON API POST cannot be read, or null when it can: a body must come as
 * `Content-Type: application/json`; no body at all (and no Content-Type) reads as `{}` — a bare POST
 * to /runs triggers a new manual run with the default params; a route without a body also ignores
 * the type of an empty one.
 */
export function unreadableBody(req: Request, takesBody: boolean): string | null {
  const type = req.headers['content-type'];
  if (type !== undefined && /^application\/json\s*(;|$)/i.test(type)) return null;
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody && (type === undefined || !takesBody)) return null;
  return `${req.method} ${req.originalUrl.split('?')[0]} takes Content-Type: application/json, not ${type ?? 'none'}`;
}

/**
 * After a UI form route's urlencoded parser: a body of another type (JSON, text from a script) is a
 * 415 naming the type the route takes; a POST with no body reads as an empty form.
 */
export function formBodyOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.body !== undefined) return next();
  const type = req.headers['content-type'];
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody && type === undefined) {
    req.body = {};
    return next();
  }
  res.status(415).json({ error: 'UNSUPPORTED_MEDIA_TYPE', message: `${req.method} ${req.path} takes a form (application/x-www-form-urlencoded), not ${type ?? 'a body without a type'}; scripts use the JSON API under /api` });
}
