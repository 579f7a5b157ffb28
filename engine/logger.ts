/**
 * pino loggers. Secrets are redacted by key and inside URLs; a task try gets a child logger whose
 * lines are also collected so the engine can store them as the task's log.
 */
import pino, { type Logger } from 'pino';
import { redactUrl } from './config.ts';

const REDACT_PATHS = ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'DASHBOARD_TOKEN'];

export function createLogger(level = 'info', destination: pino.DestinationStream = pino.destination(2)): Logger {
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

/**
 * A logger for one try: every line goes to the parent's destination (when the parent's level
 * allows it) and lines are kept (bounded) for the task's stored log — info and above, and below
 * info too when the parent logs there (LOG_LEVEL=debug|trace).
 */
export function taskLogger(parent: Logger, bindings: Record<string, unknown>, maxLines = 2000) {
  const lines: CollectedLine[] = [];
  const parentStream = (parent as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  const parentLevel = parent.levelVal;
  const tee: pino.DestinationStream = {
    write(line: string) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      const level = Number(entry.level);
      if (level >= parentLevel) parentStream.write(line);
      if (lines.length < maxLines) {
        const { level: _l, msg, time, ...fields } = entry;
        lines.push({ level: pino.levels.labels[level] ?? String(level), message: String(msg ?? ''), fields, at: new Date(Number(time)) });
      }
    },
  };
  const log = createLogger(parentLevel < pino.levels.values.info ? parent.level : 'info', tee).child(bindings);
  return { log, lines };
}
