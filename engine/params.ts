/**
 * Run params: declared per DAG with zod (`dataDir: z.string().default('data').describe('…')`) or, as
 * a shorthand, a plain JSON default (a param of that value's type). Compiled once into a strict
 * object schema; a trigger's params are validated against it, and the params a task's options use
 * (`{params.x}`, `:param_x`) are checked against it when the DAG is loaded. Params declared with
 * `secret()` are noted (engine/secret-params.ts); an env one is refused at trigger time.
 */
import { z } from 'zod';
import { TributaryError } from './errors.ts';
import { envSecretsGiven, secretOf, type SecretParam } from './secret-params.ts';
import type { CompiledParams, Json } from './types.ts';

/** `{params.<name>}` as jobs/templates.ts renders it, and `:param_<name>` as jobs/sql/named-params.ts binds it (not a `::` cast). */
const PARAM_REFS = [/\{params\.([A-Za-z_][A-Za-z0-9_]*)\}/g, /(?<![:\w]):param_([A-Za-z_][A-Za-z0-9_]*)/g];

function isSchema(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value && typeof (value as z.ZodType).safeParse === 'function';
}

/** The schema of a shorthand param: its default's type, with that default. */
function shorthand(value: Json): z.ZodType<Json> {
  if (typeof value === 'string') return z.string().default(value);
  if (typeof value === 'number') return z.number().default(value);
  if (typeof value === 'boolean') return z.boolean().default(value);
  return z.json().default(value);
}

/**
 * Compiles a DAG's `params` declaration; `fail` gets one line naming the param. A scheduled DAG
 * (`scheduled`) must give every required param a default: nobody passes params to its runs.
 */
export function compileParams(raw: Record<string, unknown>, scheduled: boolean, fail: (what: string) => never): CompiledParams {
  const shape: Record<string, z.ZodType<Json | undefined>> = {};
  const defaults: Record<string, Json> = {};
  const secrets = new Map<string, SecretParam>();
  for (const [name, spec] of Object.entries(raw)) {
    const at = `params.${name}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`${at}: a param name is a letter or _ then letters, digits, _`);
    let schema: z.ZodType<Json | undefined>;
    if (isSchema(spec)) schema = spec as z.ZodType<Json | undefined>;
    else if (z.json().safeParse(spec).success) schema = shorthand(spec as Json);
    else return fail(`${at}: expected a zod schema (z.string().default(…)) or a JSON default value`);
    try {
      z.toJSONSchema(schema, { io: 'input' });
    } catch (err) {
      fail(`${at}: params are JSON, but this type cannot be: ${(err as Error).message.split('\n')[0]}`);
    }
    const secret = secretOf(schema);
    if (secret) secrets.set(name, secret);
    const empty = schema.safeParse(undefined);
    if (secret?.env && empty.success && empty.data !== undefined) {
      fail(`${at}: a secret read from the environment (${secret.env}) has no default: it would be stored with every run`);
    }
    if (empty.success && empty.data !== undefined) {
      if (!z.json().safeParse(empty.data).success) fail(`${at}: the default is not a JSON value`);
      defaults[name] = empty.data;
    } else if (!empty.success && scheduled) {
      fail(`${at}: a scheduled DAG's params need a default (or .optional())`);
    }
    shape[name] = schema;
  }
  return { defaults, schema: z.object(shape).strict(), secrets };
}

/**
 * A trigger's params over the DAG's defaults, validated: one ARGUMENT_INVALID line naming each bad
 * param, and `details.params` (param name → message) for forms that show each beside its field.
 */
export function validateParams(
  dag: { id: string; paramSchema: CompiledParams['schema']; secretParams: ReadonlyMap<string, SecretParam> },
  given: Record<string, Json> = {},
): Record<string, Json> {
  const fromEnv = envSecretsGiven(dag, given);
  if (fromEnv.size > 0) {
    const problems = [...fromEnv].map(([param, problem]) => `param "${param}" ${problem}`);
    throw new TributaryError('ARGUMENT_INVALID', `dag "${dag.id}": ${problems.join('; ')}`, { details: { params: Object.fromEntries(fromEnv) } });
  }
  const parsed = dag.paramSchema.safeParse(given);
  if (parsed.success) return parsed.data as Record<string, Json>;
  const declared = Object.keys(dag.paramSchema.shape).join(', ') || 'none';
  /** Param name → what is wrong with it (the trigger form shows each beside its field). */
  const byParam = new Map<string, string>();
  const problems = parsed.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) byParam.set(key, `unknown param (declared: ${declared})`);
      return issue.keys.map((key) => `unknown param "${key}" (declared: ${declared})`);
    }
    const [param, ...inside] = issue.path.map(String);
    if (!byParam.has(param)) byParam.set(param, inside.length > 0 ? `${inside.join('.')}: ${issue.message}` : issue.message);
    return [`param "${[param, ...inside].join('.')}": ${issue.message}`];
  });
  throw new TributaryError('ARGUMENT_INVALID', `dag "${dag.id}": ${problems.join('; ')}`, { details: { params: Object.fromEntries(byParam) } });
}

/**
 * Every param a task's raw options use — `{params.<name>}` in a template, `:param_<name>` in SQL —
 * by name → the text that names it (objects and arrays walked; functions skipped).
 */
export function paramRefs(value: unknown, found: Map<string, string> = new Map()): Map<string, string> {
  if (typeof value === 'string') {
    for (const pattern of PARAM_REFS) {
      for (const m of value.matchAll(pattern)) if (!found.has(m[1])) found.set(m[1], m[0]);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) paramRefs(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) paramRefs(item, found);
  }
  return found;
}
