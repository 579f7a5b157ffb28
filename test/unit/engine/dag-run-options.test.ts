/** A DAG's pausedAtCreation and runFailsOn (validated, defaulted) and DAGS_PAUSED_AT_CREATION (no services). */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../../engine/config.ts';
import { compileDag } from '../../../engine/dag.ts';
import type { JobKind } from '../../../engine/types.ts';

const KINDS: ReadonlyMap<string, JobKind> = new Map([['noop', { name: 'noop', options: z.object({}).strict().default({}), handler: async () => null }]]);
const spec = (extra: object) => ({ id: 'opts', tasks: { a: { kind: 'noop' } }, ...extra });

describe('pausedAtCreation and runFailsOn', () => {
  it('default to the engine setting (unset) and the leaf rule', () => {
    const dag = compileDag(spec({}), 'opts.ts', KINDS);
    expect(dag.pausedAtCreation).toBeUndefined();
    expect(dag.runFailsOn).toBe('leaves');
    expect(compileDag(spec({ pausedAtCreation: false, runFailsOn: 'any_failed' }), 'opts.ts', KINDS)).toMatchObject({
      pausedAtCreation: false, runFailsOn: 'any_failed',
    });
  });

  it('refuses anything else, naming the field', () => {
    expect(() => compileDag(spec({ runFailsOn: 'any' }), 'opts.ts', KINDS)).toThrow(/opts\.ts: dag "opts": runFailsOn: .*"leaves"\|"any_failed"/);
    expect(() => compileDag(spec({ pausedAtCreation: 'no' }), 'opts.ts', KINDS)).toThrow(/pausedAtCreation: .*boolean/);
  });
});

describe('DAGS_PAUSED_AT_CREATION', () => {
  it('is true unless set to false; anything else is CONFIG_INVALID naming it', () => {
    expect(loadConfig({}).DAGS_PAUSED_AT_CREATION).toBe(true);
    expect(loadConfig({ DAGS_PAUSED_AT_CREATION: 'false' }).DAGS_PAUSED_AT_CREATION).toBe(false);
    expect(() => loadConfig({ DAGS_PAUSED_AT_CREATION: 'no' })).toThrow(/DAGS_PAUSED_AT_CREATION: .*\(got "no"\)/);
  });
});
