/** engine/dag-version.ts: the same DAG gets the same version; a file, option, graph or handler change another. */
import { describe, expect, it } from 'vitest';
import { compileDag } from '../../../engine/dag.ts';
import type { JobKind } from '../../../engine/types.ts';
import { builtinKinds } from '../../../jobs/index.ts';

const spec = (sql = 'SELECT 1') => ({
  id: 'v', tasks: { a: { kind: 'noop' }, b: { kind: 'noop', upstream: ['a'], options: { result: sql } } },
});
const kinds = builtinKinds();
const version = (s: object, k: ReadonlyMap<string, JobKind> = kinds, source?: string) => compileDag(s, 'v.ts', k, source).version;

describe('dag version', () => {
  it('is 12 hex characters and the same for the same DAG, file text and kinds', () => {
    expect(version(spec(), kinds, 'text')).toMatch(/^[0-9a-f]{12}$/);
    expect(version(spec(), kinds, 'text')).toBe(version(spec(), builtinKinds(), 'text'));
  });

  it('changes with the file text, an option, the graph and a kind\'s handler', () => {
    const base = version(spec(), kinds, 'text');
    expect(version(spec(), kinds, 'text // edited')).not.toBe(base);
    expect(version(spec('SELECT 2'), kinds, 'text')).not.toBe(base);
    expect(version({ id: 'v', tasks: { a: { kind: 'noop' }, b: { kind: 'noop', options: { result: 'SELECT 1' } } } }, kinds, 'text')).not.toBe(base);
    const noop = kinds.get('noop')!;
    const upgraded = new Map(kinds).set('noop', { ...noop, handler: async () => 'upgraded' });
    expect(version(spec(), upgraded, 'text')).not.toBe(base);
  });
});
