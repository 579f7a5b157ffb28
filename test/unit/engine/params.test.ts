/**
 * Typed run params: declared with zod or as a JSON default, validated at trigger (unknown key, wrong
 * type → one ARGUMENT_INVALID line), `{params.x}` templates checked at load (no services).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileDag, loadDags } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { validateParams } from '../../../engine/params.ts';
import type { DagSpec, JobKind } from '../../../engine/types.ts';
import { builtinKinds } from '../../../jobs/index.ts';

const FILE = 'dags/p.ts';
const echo: JobKind = { name: 'echo', options: z.object({ path: z.string(), more: z.array(z.string()).default([]) }).strict(), handler: async () => null };
const KINDS = new Map([['echo', echo]]);

const spec = (params: DagSpec['params'], path = '{params.dir}/x.csv', scheduled = false): DagSpec => ({
  id: 'p',
  ...(scheduled && { schedule: { cron: '0 6 * * *' } }),
  params,
  tasks: { read: { kind: 'echo', options: { path } } },
});

function failure(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).message).not.toContain('\n');
    return err as TributaryError;
  }
  return expect.fail('expected a TributaryError');
}

describe('declared params', () => {
  const dag = compileDag(
    spec({
      dir: z.string().default('/data').describe('where files land'),
      limit: z.number().int().min(1).default(10),
      label: z.string().optional(),
      legacy: 'plain', // shorthand: a string param defaulting to 'plain'
    }),
    FILE,
    KINDS,
  );

  it('compiles defaults (zod and shorthand) and keeps descriptions for the docs', () => {
    expect(dag.params).toEqual({ dir: '/data', limit: 10, legacy: 'plain' });
    const json = z.toJSONSchema(dag.paramSchema, { io: 'input' }) as { properties: Record<string, { description?: string; type?: string }> };
    expect(json.properties.dir).toMatchObject({ type: 'string', description: 'where files land' });
    expect(json.properties.legacy.type).toBe('string');
  });

  it('fills defaults under the given params', () => {
    expect(validateParams(dag, { limit: 3, label: 'x' })).toEqual({ dir: '/data', limit: 3, label: 'x', legacy: 'plain' });
  });

  it('refuses an unknown key with one line naming it and the declared ones', () => {
    const err = failure(() => validateParams(dag, { dataDri: '/x' }));
    expect(err.code).toBe('ARGUMENT_INVALID');
    expect(err.message).toBe('dag "p": unknown param "dataDri" (declared: dir, limit, label, legacy)');
  });

  it.each([
    ['a number for a string', { dir: 5 }, 'param "dir": Invalid input: expected string, received number'],
    ['a string for a shorthand string default', { legacy: true }, 'param "legacy": Invalid input: expected string, received boolean'],
    ['a value under the minimum', { limit: 0 }, 'param "limit": Too small: expected number to be >=1'],
  ])('refuses %s, naming the param', (_, given, line) => {
    const err = failure(() => validateParams(dag, given));
    expect(err.code).toBe('ARGUMENT_INVALID');
    expect(err.message).toBe(`dag "p": ${line}`);
  });

  it('refuses every undeclared key, whatever its name (fuzz)', () => {
    const declared = new Set(Object.keys(dag.paramSchema.shape));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string(), { minKeys: 1, maxKeys: 4 }), (given) => {
        const unknown = Object.keys(given).filter((k) => !declared.has(k));
        fc.pre(unknown.length > 0 && !Object.keys(given).some((k) => declared.has(k)));
        const err = failure(() => validateParams(dag, given));
        for (const key of unknown) expect(err.message).toContain(`unknown param "${key}"`);
      }),
      { seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31), verbose: true },
    );
  });
});

describe('params checked when the DAG is loaded', () => {
  it('refuses a template naming an undeclared param: file, task and param', () => {
    const err = failure(() => compileDag(spec({ dataDir: z.string() }, '{params.dir}/x.csv'), FILE, KINDS));
    expect(err.code).toBe('DAG_INVALID');
    expect(err.message).toBe(`${FILE}: dag "p": task "read": {params.dir} is not a declared param (declared: dataDir)`);
  });

  it('finds templates deep in arrays', () => {
    const raw: DagSpec = { id: 'p', params: { dir: 'x' }, tasks: { read: { kind: 'echo', options: { path: '{params.dir}', more: ['a', '{params.other}'] } } } };
    expect(failure(() => compileDag(raw, FILE, KINDS)).message).toContain('{params.other} is not a declared param');
  });

  it('checks SQL :param_<name> placeholders too, not `::` casts', () => {
    const sql = (query: string): DagSpec => ({ id: 'p', params: { owner: 'x' }, tasks: { read: { kind: 'echo', options: { path: query } } } });
    expect(failure(() => compileDag(sql('SELECT 1 WHERE a = :param_owner AND b = :param_ownr'), FILE, KINDS)).message)
      .toBe(`${FILE}: dag "p": task "read": :param_ownr is not a declared param (declared: owner)`);
    expect(compileDag(sql('SELECT a::param_type, :param_owner'), FILE, KINDS).id).toBe('p');
  });

  it('refuses a required param without a default on a scheduled DAG', () => {
    const err = failure(() => compileDag(spec({ dir: z.string() }, '{params.dir}', true), FILE, KINDS));
    expect(err.message).toBe(`${FILE}: dag "p": params.dir: a scheduled DAG's params need a default (or .optional())`);
  });

  it('refuses a value that is neither a zod schema nor JSON, and a type JSON cannot hold', () => {
    expect(failure(() => compileDag(spec({ dir: new Date() as never }), FILE, KINDS)).message).toContain('params.dir: expected a zod schema');
    expect(failure(() => compileDag(spec({ dir: z.date() as never }), FILE, KINDS)).message).toContain('params.dir: params are JSON');
  });

  it('the shipped DAGs declare every param they use, each with a default and a description', async () => {
    const dags = await loadDags('schedules', builtinKinds());
    expect([...dags.keys()].sort()).toEqual(['credit_platform', 'customer_ratings', 'merchant_activity', 'transactions_api']);
    for (const dag of dags.values()) {
      const json = z.toJSONSchema(dag.paramSchema, { io: 'input' }) as { properties: Record<string, { description?: string; default?: unknown }> };
      for (const [name, prop] of Object.entries(json.properties)) {
        expect(prop.description, `${dag.id}.${name}`).toMatch(/\w{3}/);
        expect(prop.default, `${dag.id}.${name}`).toEqual(dag.params[name]);
      }
    }
  });
});
