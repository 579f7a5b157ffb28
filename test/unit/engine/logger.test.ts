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

describe('taskLogger, many tries at once', () => {
  it('keeps each try its own lines, through children a handler makes, with interleaved writes', () => {
    const written: unknown[] = [];
    const parent = createLogger('info', { write: (line: string) => void written.push(JSON.parse(line)) });
    const a = taskLogger(parent, { try: 1 });
    const b = taskLogger(parent, { try: 2 });
    a.log.info('a1');
    b.log.info('b1');
    a.log.child({ step: 'x' }).warn('a2');
    b.log.info('b2');
    expect(a.lines.map((l) => l.message)).toEqual(['a1', 'a2']);
    expect(b.lines.map((l) => l.message)).toEqual(['b1', 'b2']);
    expect(a.lines[1].fields).toMatchObject({ try: 1, step: 'x' });
    expect(written).toHaveLength(4);
  });

  it('stops storing at maxLines and still writes to the process log', () => {
    const written: unknown[] = [];
    const parent = createLogger('info', { write: (line: string) => void written.push(line) });
    const { log, lines } = taskLogger(parent, { try: 1 }, 3);
    for (let i = 0; i < 5; i++) log.info(`line ${i}`);
    expect(lines.map((l) => l.message)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(written).toHaveLength(5);
  });
});
