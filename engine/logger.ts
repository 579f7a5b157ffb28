/**
 * pino loggers. Secrets are redacted by key and inside URLs; a task try gets a child logger whose
 * lines are also collected so the engine can store them as the task's log.
 */
import { Writable } from 'node:stream';
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

/** A child logger for one try: writes to the parent's stream and keeps its lines (bounded). */
export function taskLogger(parent: Logger, bindings: Record<string, unknown>, maxLines = 2000) {
  const lines: CollectedLine[] = [];
  const collector = new Writable({
    write(chunk, _enc, done) {
      if (lines.length < maxLines) {
        const { level, msg, time, ...fields } = JSON.parse(String(chunk)) as Record<string, unknown>;
        lines.push({
          level: pino.levels.labels[Number(level)] ?? String(level),
          message: String(msg ?? ''),
          fields,
          at: new Date(Number(time)),
        });
      }
      done();
    },
  });
  const streams = pino.multistream([
    { level: parent.level as pino.Level, stream: pino.destination(2) },
    { level: 'info', stream: collector },
  ]);
  const log = createLogger(parent.level, streams).child(bindings);
  return { log, lines };
}
