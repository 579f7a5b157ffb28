/**
 * pino loggers. Secrets are redacted by key and inside URLs; a task try gets a child logger whose
 * lines are also collected so the engine can store them as the task's log.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';
import { redactUrl } from './config.ts';

const REDACT_PATHS = ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'DASHBOARD_TOKEN'];

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
    destination,
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
    write(line: string) {
      const collector = writing;
      writing = undefined;
      const entry = JSON.parse(line) as Record<string, unknown>;
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
  (log as unknown as Record<symbol, Collector>)[COLLECTOR] = { lines, maxLines };
  return { log, lines };
}
