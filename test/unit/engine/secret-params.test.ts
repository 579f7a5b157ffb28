/**
 * Secret params: the `secret()` marker survives zod's chaining and reaches CompiledDag.secretParams,
 * stays out of the JSON Schema; redactParams masks declared secrets and secret-looking names; an env
 * secret is refused at trigger time, resolved when a task runs (or fails it naming the variable);
 * a try's log never prints a secret value. No services.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileDag } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { createLogger, taskLogger } from '../../../engine/logger.ts';
import { validateParams } from '../../../engine/params.ts';
import { redactParams, REDACTED, secret, secretOf, taskParams } from '../../../engine/secret-params.ts';
import type { DagSpec, JobKind } from '../../../engine/types.ts';
import { paramFields, paramsFormBody } from '../../../dashboard/params-form.ts';
import { secret as exported } from '../../../index.ts';

const echo: JobKind = { name: 'echo', options: z.object({ path: z.string() }).strict(), handler: async () => null };
const KINDS = new Map([['echo', echo]]);
const compile = (params: DagSpec['params'], scheduled = false) => compileDag({
  id: 's', ...(scheduled && { schedule: { cron: '0 6 * * *' } }), params, tasks: { read: { kind: 'echo', options: { path: '{params.dir}' } } },
}, 'dags/s.ts', KINDS);

function thrown(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  return expect.fail('expected a TributaryError');
}

describe('secret() marker', () => {
  it('is the one tributary exports', () => expect(exported).toBe(secret));

  it('survives describe, checks, default and optional; plain strings are not secrets', () => {
    expect(secretOf(secret().describe('dsn').min(3).default('x'))).toEqual({ env: null });
    expect(secretOf(secret().optional())).toEqual({ env: null });
    expect(secretOf(secret({ env: 'WAREHOUSE_DSN' }).describe('from the worker'))).toEqual({ env: 'WAREHOUSE_DSN' });
    expect(secretOf(z.string().describe('dsn').default('x'))).toBeUndefined();
  });

  it('gives the compiled DAG its secret params, and stays out of the JSON Schema', () => {
    const dag = compile({ dir: 'd', warehouseDsn: secret().default('postgres://u:p@h/db'), apiToken: secret({ env: 'API_TOKEN' }), plain: z.string().optional() }, true);
    expect([...dag.secretParams]).toEqual([['warehouseDsn', { env: null }], ['apiToken', { env: 'API_TOKEN' }]]);
    expect(dag.params).toEqual({ dir: 'd', warehouseDsn: 'postgres://u:p@h/db' });
    expect(JSON.stringify(z.toJSONSchema(dag.paramSchema, { io: 'input' }))).not.toContain('API_TOKEN');
  });

  it('refuses a default on an env secret, and a bad variable name', () => {
    const err = thrown(() => compile({ dir: 'd', apiToken: secret({ env: 'API_TOKEN' }).default('t') }));
    expect(err.code).toBe('DAG_INVALID');
    expect(err.message).toContain('params.apiToken');
    expect(err.message).toContain('API_TOKEN');
    expect(thrown(() => secret({ env: 'API-TOKEN' })).code).toBe('DAG_INVALID');
  });
});

describe('trigger-time params', () => {
  const dag = compile({ dir: 'd', apiToken: secret({ env: 'API_TOKEN' }), warehouseDsn: secret() });

  it('refuses a value for an env secret, naming the param and the variable', () => {
    const err = thrown(() => validateParams(dag, { apiToken: 'tok-s3cr3t' }));
    expect(err.code).toBe('ARGUMENT_INVALID');
    expect(err.message).toMatch(/param "apiToken" .*API_TOKEN/);
    expect(err.message).not.toContain('s3cr3t');
    expect(Object.keys(err.details?.params as object)).toEqual(['apiToken']);
  });

  it('takes a value for a stored secret and leaves the env one out', () => {
    expect(validateParams(dag, { warehouseDsn: 'dsn-1' })).toEqual({ dir: 'd', warehouseDsn: 'dsn-1' });
  });
});

describe('redactParams', () => {
  const dag = compile({ dir: 'd', warehouseDsn: secret(), nested: z.json().optional() });

  it('masks declared secrets whatever their name, secret-looking names at any depth, and nothing else', () => {
    const params = { dir: '/data', warehouseDsn: 'postgres://u:pw@h/db', nested: { a: [{ api_key: 'k1', keep: 1 }] }, password: 'p' };
    expect(redactParams(dag, params)).toEqual({ dir: '/data', warehouseDsn: REDACTED, nested: { a: [{ api_key: REDACTED, keep: 1 }] }, password: REDACTED });
    expect(redactParams(undefined, params)).toEqual({ ...params, nested: { a: [{ api_key: REDACTED, keep: 1 }] }, password: REDACTED });
  });
});

describe('taskParams at run time', () => {
  const dag = compile({ dir: 'd', apiToken: secret({ env: 'TRIB_TEST_API_TOKEN' }), warehouseDsn: secret() });

  function tryLog() {
    const written: string[] = [];
    const parent = createLogger('info', { write: (line: string) => void written.push(line) });
    return { written, ...taskLogger(parent, { task_id: 'read', try: 1 }) };
  }

  it('resolves an env secret from the environment and hides every secret value from the try log', () => {
    const { written, log, lines } = tryLog();
    const early = log.child({ step: 'early' });
    const params = taskParams(dag, { dir: 'd', warehouseDsn: 'dsn-s3cr3t' }, log, { TRIB_TEST_API_TOKEN: 'tok-s3cr3t' });
    expect(params).toEqual({ dir: 'd', warehouseDsn: 'dsn-s3cr3t', apiToken: 'tok-s3cr3t' });
    early.info({ header: `Bearer tok-s3cr3t`, deep: { list: ['x dsn-s3cr3t y'] } }, 'calling with tok-s3cr3t');
    log.child({ step: 'late' }).error({ err: new Error('refused dsn-s3cr3t') }, 'failed');
    log.info('token %s', 'tok-s3cr3t');
    const all = [...written, JSON.stringify(lines)].join('\n');
    expect(lines).toHaveLength(3);
    expect(written).toHaveLength(3);
    expect(all).not.toContain('s3cr3t');
    expect(lines[0]).toMatchObject({ message: `calling with ${REDACTED}`, fields: { header: `Bearer ${REDACTED}`, deep: { list: [`x ${REDACTED} y`] } } });
  });

  it('fails with SECRET_ENV_MISSING naming the variable when it is unset or empty', () => {
    for (const env of [{}, { TRIB_TEST_API_TOKEN: '' }]) {
      const err = thrown(() => taskParams(dag, { dir: 'd' }, tryLog().log, env));
      expect(err.code).toBe('SECRET_ENV_MISSING');
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('TRIB_TEST_API_TOKEN');
      expect(err.message).toContain('"apiToken"');
    }
  });
});

describe('trigger form', () => {
  const dag = compile({ dir: 'd', warehouseDsn: secret().default('dsn-default-s3cr3t'), apiToken: secret({ env: 'API_TOKEN' }) });

  it('a declared secret is a password field whose default never reaches the page; an env secret has no field', () => {
    const fields = paramFields(dag);
    expect(fields.find((f) => f.name === 'warehouseDsn')).toMatchObject({ secret: true, default: REDACTED, env: null });
    expect(fields.find((f) => f.name === 'apiToken')).toMatchObject({ secret: true, env: 'API_TOKEN' });
    const page = paramsFormBody(dag).text;
    expect(page).not.toContain('s3cr3t');
    expect(page).toMatch(/name="param\.warehouseDsn" type="password"/);
    expect(page).not.toContain('name="param.apiToken"');
    expect(page).toContain('<code>API_TOKEN</code>');
  });
});
