/**
 * Secret run params. `secret()` declares one in a DAG's `params`: a string given at trigger time
 * (or as a default), stored with the run but never shown; `secret({ env: 'VAR' })` is read from
 * the worker's environment when a task runs and never stored. The marker lives in a zod registry
 * of our own (not `.meta()`): it stays out of the JSON Schema the trigger form and the docs are
 * made from, cannot clash with a user's own metadata, and zod hands it on to clones
 * (`.describe()`, `.min()`), so `secret().describe('…')` is still a secret.
 *
 * `redactParams` masks declared secrets and secret-looking names (nested too) wherever params
 * leave: API, pages, CLI, audit log. `taskParams` gives a try its params with env secrets resolved
 * and hides every secret value from the try's log lines.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { TributaryError } from './errors.ts';
import { hideInTaskLog, REDACTED } from './logger.ts';
import type { CompiledDag, Json } from './types.ts';

/** A declared secret param: `env` names the variable its value is read from at run time (null: given at trigger time or as a default). */
export interface SecretParam {
  env: string | null;
}

const SECRETS = z.registry<SecretParam>();
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export { REDACTED };

/** Param (and field) names that look secret: their values are never shown, declared or not. */
const SECRET_KEY = /password|passwd|token|secret|key|credential/i;

export const isSecretKey = (name: string): boolean => SECRET_KEY.test(name);

/**
 * A secret run param. `secret()`: a string given at trigger time or as a default
 * (`secret().default('…')`), stored with the run, masked wherever params are shown.
 * `secret({ env: 'API_TOKEN' })`: read from the worker's environment when a task runs, never
 * stored; a value given at trigger time is refused, an unset variable fails the task (SECRET_ENV_MISSING).
 */
export function secret(): z.ZodString;
export function secret(options: { env: string }): z.ZodOptional<z.ZodString>;
export function secret(options: { env?: string } = {}): z.ZodString | z.ZodOptional<z.ZodString> {
  const { env } = options;
  if (env === undefined) return z.string().register(SECRETS, { env: null });
  if (!ENV_NAME.test(env)) throw new TributaryError('DAG_INVALID', `secret({ env: "${env}" }): an environment variable name is a letter or _ then letters, digits, _`);
  // Optional at trigger time: the value is never given there, the worker reads it.
  return z.string().register(SECRETS, { env }).optional();
}

/** The secret marker of a param's schema, looking through optional/default/nullable/pipe wrappers. */
export function secretOf(schema: z.ZodType): SecretParam | undefined {
  for (let at: z.ZodType | undefined = schema; at; ) {
    const found = SECRETS.get(at);
    if (found) return found;
    const def = at._zod.def as { innerType?: z.ZodType; in?: z.ZodType };
    at = def.innerType ?? def.in;
  }
  return undefined;
}

/** A JSON value with every secret-looking key's value masked, at any depth. */
export function redact(value: Json): Json {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSecretKey(k) ? REDACTED : redact(v)]));
  }
  return value;
}

/**
 * A run's params as they may be shown: the DAG's declared secrets and every secret-looking name
 * (nested too) masked. Without the DAG (a run of a DAG no longer loaded), names alone decide.
 */
export function redactParams(dag: CompiledDag | undefined, params: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [
    name, dag?.secretParams.has(name) || isSecretKey(name) ? REDACTED : redact(value),
  ]));
}

/**
 * A trigger's params that name an env secret: one problem per param (param name → message). Such
 * a value is never stored; the worker reads it from its environment.
 */
export function envSecretsGiven(dag: Pick<CompiledDag, 'secretParams'>, given: Record<string, Json>): Map<string, string> {
  const problems = new Map<string, string>();
  for (const [name, { env }] of dag.secretParams) {
    if (env !== null && given[name] !== undefined) {
      problems.set(name, `is read from the environment variable ${env} when a task runs; it cannot be given at trigger time (it would be stored with the run)`);
    }
  }
  return problems;
}

/**
 * The params a try runs with: the run's stored params, each env secret read from `env` (an unset
 * or empty variable: SECRET_ENV_MISSING, permanent). Every secret value is hidden from the try's
 * log lines (`log`, a taskLogger's, and its children).
 */
export function taskParams(dag: CompiledDag, stored: Record<string, Json>, log: Logger, env: NodeJS.ProcessEnv = process.env): Record<string, Json> {
  const params = { ...stored };
  const hide = (name: string) => {
    const value = params[name];
    if (typeof value === 'string' && value !== '') hideInTaskLog(log, value);
  };
  for (const [name, { env: variable }] of dag.secretParams) {
    if (variable === null) hide(name);
  }
  for (const [name, { env: variable }] of dag.secretParams) {
    if (variable === null) continue;
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new TributaryError(
        'SECRET_ENV_MISSING',
        `param "${name}" of dag "${dag.id}" is read from the environment variable ${variable}, which is not set on this worker; set it where the workers run`,
      );
    }
    params[name] = value;
    hide(name);
  }
  return params;
}
