/**
 * The per-try logger follows the process's level: LOG_LEVEL=debug puts debug lines both in the
 * process output and in the task's stored log; at info or above the stored log still keeps info.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, taskLogger } from '../../../engine/logger.ts';

function parentAt(level: string) {
  const written: { level: number; msg: string; try?: number }[] = [];
  const parent = createLogger(level, { write: (line: string) => void written.push(JSON.parse(line)) });
  const { log, lines } = taskLogger(parent, { dag_id: 'd', run_id: 1, task_id: 't', try: 2 });
  log.debug('detail');
  log.info('progress');
  log.warn('careful');
  return { written, stored: lines.map((l) => `${l.level}:${l.message}`) };
}

describe('taskLogger', () => {
  it('LOG_LEVEL=debug: debug lines reach the process output and the stored task log', () => {
    const { written, stored } = parentAt('debug');
    expect(stored).toEqual(['debug:detail', 'info:progress', 'warn:careful']);
    expect(written.map((w) => w.msg)).toEqual(['detail', 'progress', 'careful']);
    expect(written.every((w) => w.try === 2)).toBe(true);
  });

  it('LOG_LEVEL=info: no debug line anywhere', () => {
    const { written, stored } = parentAt('info');
    expect(stored).toEqual(['info:progress', 'warn:careful']);
    expect(written.map((w) => w.msg)).toEqual(['progress', 'careful']);
  });

  it('a quiet process (warn, silent) still stores info lines for the task log', () => {
    expect(parentAt('warn')).toEqual({ written: [expect.objectContaining({ msg: 'careful' })], stored: ['info:progress', 'warn:careful'] });
    expect(parentAt('silent')).toEqual({ written: [], stored: ['info:progress', 'warn:careful'] });
  });
});
