/** Deadlines in wall-clock time across DST, and callback definitions refused at load with one line. */
import { describe, expect, it } from 'vitest';
import { deadlineFor, type CompiledDeadline } from '../../../engine/callbacks.ts';
import { compileDag } from '../../../engine/dag.ts';
import { builtinKinds } from '../../../jobs/index.ts';

const at = (time: Partial<CompiledDeadline>): CompiledDeadline => ({ hour: 9, minute: 0, timezone: 'Europe/London', dayOffset: 0, onMissed: [], ...time });

describe('deadlineFor', () => {
  it('is D 09:00 London in GMT and in BST (the clocks went forward on 2025-03-30)', () => {
    expect(deadlineFor(at({}), new Date('2025-03-29T06:00:00Z'), 'UTC').toISOString()).toBe('2025-03-29T09:00:00.000Z');
    expect(deadlineFor(at({}), new Date('2025-03-30T06:00:00Z'), 'UTC').toISOString()).toBe('2025-03-30T08:00:00.000Z');
  });

  it('takes D in the DAG timezone and adds dayOffset days', () => {
    // 23:30 UTC on 2025-06-01 is already 2025-06-02 in Tokyo; a day later, 17:45 New York (EDT, UTC-4).
    const deadline = at({ hour: 17, minute: 45, timezone: 'America/New_York', dayOffset: 1 });
    expect(deadlineFor(deadline, new Date('2025-06-01T23:30:00Z'), 'Asia/Tokyo').toISOString()).toBe('2025-06-03T21:45:00.000Z');
  });
});

describe('callback definitions', () => {
  const compile = (extra: object) => () => compileDag({ id: 'd', tasks: { a: { kind: 'noop' } }, ...extra }, 'd.ts', builtinKinds());

  it('compiles webhooks, logs and functions with their defaults', () => {
    const fn = () => undefined;
    const dag = compileDag(
      { id: 'd', onFailure: [{ webhook: { url: 'https://example.test/h' } }, { log: {} }, fn], tasks: { a: { kind: 'noop', onRetry: fn } } },
      'd.ts',
      builtinKinds(),
    );
    expect(dag.callbacks.onFailure).toEqual([
      { kind: 'webhook', url: 'https://example.test/h', headersFromEnv: {}, retries: 3, retryDelayMs: 500, timeoutMs: 10_000 },
      { kind: 'log', level: 'warn' },
      { kind: 'function', fn },
    ]);
    expect(dag.tasks.get('a')!.callbacks.onRetry).toEqual([{ kind: 'function', fn }]);
  });

  it('refuses bad definitions with one line naming the file and the option', () => {
    expect(compile({ onFailure: { webhook: { url: 'https://x.test', urlEnv: 'HOOK' } } })).toThrow(/^d\.ts: dag "d": onFailure.*give exactly one of url and urlEnv$/);
    expect(compile({ onSuccess: { email: 'me@x.test' } })).toThrow(/d\.ts: dag "d": onSuccess/);
    expect(compile({ deadline: { time: '9:00' } })).toThrow(/deadline\.time: must be 'HH:MM'/);
    expect(compile({ deadline: { time: '09:00', timezone: 'Mars/Base' } })).toThrow(/deadline\.timezone: is not a valid IANA timezone/);
  });
});
