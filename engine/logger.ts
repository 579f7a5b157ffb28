/**
 * pino loggers. Secrets are redacted by key and inside URLs; a task try gets a child logger whose
 * lines are also collected so the engine can store them as the task's log.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';
import { redactUrl } from './config.ts';

/** What a hidden value shows instead: a secret param in a log line, an API answer or a page. */
export const REDACTED = '••••••';

const REDACT_PATHS = ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'DASHBOARD_TOKEN'];

/**
 * Values masked in every line of every logger createLogger made (connection passwords and tokens,
 * engine/connections.ts): as written and as escaped inside a JSON string.
 */
const processSecrets: string[] = [];

/** Masks `value` in every later line of this process's loggers, wherever it appears. */
export function hideInAllLogs(value: string): void {
  for (const form of [value, JSON.stringify(value).slice(1, -1)]) {
    if (form !== '' && !processSecrets.includes(form)) processSecrets.push(form);
  }
}

/** `destination` with the process's secrets masked in each serialized line. */
function maskingStream(destination: pino.DestinationStream): pino.DestinationStream {
  return { write: (line: string) => destination.write(processSecrets.length === 0 ? line : (maskValues(line, processSecrets) as string)) };
}

export function createLogger(
  level = 'info',
  destination: pino.DestinationStream = pino.destination(2),
  mixin?: LoggerOptions['mixin'],
): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '***' },
      formatters: { log: (obj) => redactUrlsIn(obj) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redactUrl(a) : a)) as Parameters<typeof method>);
        },
      },
      mixin,
    },
    maskingStream(destination),
  );
}

function redactUrlsIn(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'string' ? redactUrl(v) : v;
  return out;
}

export interface CollectedLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
  at: Date;
}

interface Collector {
  lines: CollectedLine[];
  maxLines: number;
  /** Values never to print (a try's secret params): masked in every line of the try. */
  hidden: string[];
}

const COLLECTOR = Symbol('trib.collector');

/**
 * One collecting logger per parent, built once: pino compiles its redaction on construction,
 * which costs ~0.3 ms — too much to pay on every try. Each try gets a child of it; the child
 * (and any child a handler makes of it, pino children inherit by prototype) carries its
 * collector, which the mixin hands to the synchronous write that follows it.
 */
const collecting = new WeakMap<Logger, Logger>();

function collectingLogger(parent: Logger): Logger {
  const existing = collecting.get(parent);
  if (existing) return existing;
  const parentStream = (parent as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  const parentLevel = parent.levelVal;
  let writing: Collector | undefined;
  const tee: pino.DestinationStream = {
    write(raw: string) {
      const collector = writing;
      let line = raw;
      writing = undefined;
      let entry = JSON.parse(line) as Record<string, unknown>;
      if (collector && collector.hidden.length > 0) {
        entry = maskValues(entry, collector.hidden) as Record<string, unknown>;
        line = `${JSON.stringify(entry)}\n`;
      }
      const level = Number(entry.level);
      if (level >= parentLevel) parentStream.write(line);
      if (collector && collector.lines.length < collector.maxLines) {
        const { level: _l, msg, time, ...fields } = entry;
        collector.lines.push({ level: pino.levels.labels[level] ?? String(level), message: String(msg ?? ''), fields, at: new Date(Number(time)) });
      }
    },
  };
  const mixin = (_merge: object, _level: number, logger: pino.Logger) => {
    writing = (logger as unknown as Record<symbol, Collector | undefined>)[COLLECTOR];
    return {};
  };
  const logger = createLogger(parentLevel < pino.levels.values.info ? parent.level : 'info', tee, mixin as LoggerOptions['mixin']);
  collecting.set(parent, logger);
  return logger;
}

/**
 * A logger for one try: every line goes to the parent's destination (when the parent's level
 * allows it) and lines are kept (bounded) for the task's stored log — info and above, and below
 * info too when the parent logs there (LOG_LEVEL=debug|trace).
 */
export function taskLogger(parent: Logger, bindings: Record<string, unknown>, maxLines = 2000) {
  const lines: CollectedLine[] = [];
  const log = collectingLogger(parent).child(bindings);
  (log as unknown as Record<symbol, Collector>)[COLLECTOR] = { lines, maxLines, hidden: [] };
  return { log, lines };
}

/**
 * Masks `value` in every later line of a try's logger (and of its children, made before or after):
 * in the message and in every field, where a handler or an error may have put it. A logger that
 * taskLogger did not make is left as it is.
 */
export function hideInTaskLog(log: Logger, value: string): void {
  const collector = (log as unknown as Record<symbol, Collector | undefined>)[COLLECTOR];
  if (collector && !collector.hidden.includes(value)) collector.hidden.push(value);
}

/**
 * `value` with every secret hidden in the try's logger masked: a try's result and error message are
 * stored and shown like its log lines, so a handler that returns or throws a secret leaks it no more.
 */
export function maskTaskSecrets<T>(log: Logger, value: T): T {
  const collector = (log as unknown as Record<symbol, Collector | undefined>)[COLLECTOR];
  return collector && collector.hidden.length > 0 ? (maskValues(value, collector.hidden) as T) : value;
}

function maskValues(value: unknown, hidden: readonly string[]): unknown {
  if (typeof value === 'string') return hidden.reduce((text, secret) => text.split(secret).join(REDACTED), value);
  if (Array.isArray(value)) return value.map((item) => maskValues(item, hidden));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValues(v, hidden)]));
  return value;
}
