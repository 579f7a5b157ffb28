/**
 * Named connections: parsed once from TRIB_CONN_* and the connections file, names lower-cased,
 * kinds from the scheme, secrets masked wherever shown or logged, names checked when a DAG loads.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeConnections, Connections, connectionsConfigured, httpAccess, processConnections, redacted } from '../../../engine/connections.ts';
import { compileDag } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { createLogger, taskLogger } from '../../../engine/logger.ts';
import { builtinKinds } from '../../../jobs/index.ts';

const PASSWORD = 'p@ss:W0rd-unit';
const PG = `postgres://loader:${encodeURIComponent(PASSWORD)}@wh.example:5432/dw?sslmode=require&sslpassword=keyPhrase77`;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'conn-unit-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await closeConnections();
});

function failure(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TributaryError) return err;
    throw err;
  }
  throw new Error('expected a TributaryError');
}

async function file(name: string, text: string, mode = 0o600): Promise<string> {
  const at = path.join(dir, name);
  await fs.writeFile(at, text);
  await fs.chmod(at, mode);
  return at;
}

describe('Connections.load', () => {
  it('reads TRIB_CONN_* with lower-cased names and the kind from the scheme', () => {
    const c = Connections.load({ TRIB_CONN_WAREHOUSE: PG, TRIB_CONN_API: 'https://api.example/v1', TRIB_CONN_OLD: 'postgresql://x@h/db', OTHER: 'x' });
    expect(c.names()).toEqual(['api', 'old', 'warehouse']);
    expect(c.get('warehouse').kind).toBe('postgres');
    expect(c.get('old').kind).toBe('postgres');
    expect(c.get('api').kind).toBe('http');
  });

  it('refuses another scheme, a bad name, a name defined twice — one CONFIG_INVALID line naming it', async () => {
    expect(failure(() => Connections.load({ TRIB_CONN_X: 'mysql://h/db' }))).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('TRIB_CONN_X') });
    expect(failure(() => Connections.load({ 'TRIB_CONN_9X': PG })).code).toBe('CONFIG_INVALID');
    const both = await file('both.yaml', `warehouse:\n  url: ${PG}\n`);
    expect(failure(() => Connections.load({ TRIB_CONN_WAREHOUSE: PG, TRIB_CONNECTIONS_FILE: both })).message).toMatch(/"warehouse" is defined twice \(TRIB_CONN_WAREHOUSE and .*both\.yaml\)/);
  });

  it('reads a YAML or JSON file with tokens for http connections', async () => {
    const yaml = await file('c.yaml', `warehouse:\n  url: ${PG}\napi:\n  url: https://api.example/v1/\n  token: tok-123456\n`);
    const json = await file('c.json', JSON.stringify({ warehouse: { url: PG } }));
    const fromYaml = Connections.load({ TRIB_CONNECTIONS_FILE: yaml });
    expect(fromYaml.names()).toEqual(['api', 'warehouse']);
    expect(httpAccess(fromYaml.get('api', 'http')).headers).toEqual({ authorization: 'Bearer tok-123456' });
    expect(Connections.load({ TRIB_CONNECTIONS_FILE: json }).get('warehouse', 'postgres').source).toBe(json);
  });

  it('refuses a file group or others may open, saying why and how to fix it', async () => {
    const open = await file('open.yaml', `warehouse:\n  url: ${PG}\n`, 0o644);
    const err = failure(() => Connections.load({ TRIB_CONNECTIONS_FILE: open }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('may be opened by group or others (mode 644)');
    expect(err.message).toContain(`chmod 600 ${open}`);
  });

  it('refuses a token on a postgres connection, and a token beside URL credentials', async () => {
    const pgToken = await file('t1.yaml', `w:\n  url: ${PG}\n  token: abc\n`);
    expect(failure(() => Connections.load({ TRIB_CONNECTIONS_FILE: pgToken })).message).toContain('a token is for http connections only');
    const both = await file('t2.yaml', 'a:\n  url: https://u:p@api.example/\n  token: abc\n');
    expect(failure(() => Connections.load({ TRIB_CONNECTIONS_FILE: both })).message).toContain('not both');
  });

  it('an unknown name or another kind is a permanent CONFIG_INVALID naming the variable to set', () => {
    const c = Connections.load({ TRIB_CONN_API: 'https://api.example/' });
    const unknown = failure(() => c.get('warehouse', 'postgres'));
    expect(unknown.code).toBe('CONFIG_INVALID');
    expect(unknown.retryable).toBe(false);
    expect(unknown.message).toContain('TRIB_CONN_WAREHOUSE');
    expect(failure(() => c.get('api', 'postgres')).message).toContain('is an http connection');
  });
});

describe('secrets', () => {
  it('redacted() masks the password and secret-looking query values, keeps the rest', () => {
    const shown = redacted(new URL(PG));
    expect(shown).toBe('postgres://loader:••••••@wh.example:5432/dw?sslmode=require&sslpassword=••••••');
    expect(shown).not.toContain(encodeURIComponent(PASSWORD));
    expect(shown).not.toContain('keyPhrase77');
    expect(Connections.load({ TRIB_CONN_W: PG }).list()).toEqual([
      { name: 'w', kind: 'postgres', url: shown, source: 'TRIB_CONN_W' },
    ]);
  });

  it('basic credentials of an http URL become an Authorization header and leave the URL', () => {
    const access = httpAccess(Connections.load({ TRIB_CONN_API: 'https://bob:s%3Acret@api.example/v1' }).get('api'));
    expect(access.base.href).toBe('https://api.example/v1');
    expect(access.headers.authorization).toBe(`Basic ${Buffer.from('bob:s:cret').toString('base64')}`);
  });

  it('once the process reads its connections, no log line of any logger shows their secrets', () => {
    vi.stubEnv('TRIB_CONN_WAREHOUSE', PG);
    vi.stubEnv('TRIB_CONN_API', 'https://bob:hunter2hunter@api.example/');
    const written: string[] = [];
    const parent = createLogger('info', { write: (line: string) => void written.push(line) });
    processConnections();
    const { log, lines } = taskLogger(parent, { try: 1 });
    parent.info({ url: PG, nested: { detail: `pw ${PASSWORD}` } }, `connecting with ${PASSWORD}`);
    log.error({ err: new Error(`auth failed for hunter2hunter and keyPhrase77`) }, 'failed');
    const everything = written.join('') + JSON.stringify(lines);
    for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), 'hunter2hunter', 'keyPhrase77']) expect(everything).not.toContain(secret);
    expect(written).toHaveLength(2);
    expect(written[1]).toContain('auth failed for');
  });
});

describe('the connection option when a DAG loads', () => {
  const dag = (connection: string) => ({
    id: 'd',
    tasks: { r: { kind: 'report', options: { query: 'SELECT 1', outputDir: '/tmp', fileName: 'r_{yyyymmdd}.csv', connection } } },
  });

  it('an unknown name is DAG_INVALID when this process defines connections', () => {
    vi.stubEnv('TRIB_CONN_WAREHOUSE', PG);
    expect(connectionsConfigured()).toBe(true);
    expect(compileDag(dag('warehouse'), 'd.ts', builtinKinds()).tasks.get('r')?.options).toMatchObject({ connection: 'warehouse' });
    const err = failure(() => compileDag(dag('wharehouse'), 'd.ts', builtinKinds()));
    expect(err.code).toBe('DAG_INVALID');
    expect(err.message).toContain('connection "wharehouse" is not defined');
  });

  it('a connection of another kind is DAG_INVALID', () => {
    vi.stubEnv('TRIB_CONN_API', 'https://api.example/');
    expect(failure(() => compileDag(dag('api'), 'd.ts', builtinKinds())).message).toContain('needs a postgres one');
  });

  it('without any connection defined here (a scheduler without credentials) the name is left to the worker', () => {
    for (const key of Object.keys(process.env).filter((k) => k.startsWith('TRIB_CONN'))) vi.stubEnv(key, '');
    expect(connectionsConfigured()).toBe(false);
    expect(compileDag(dag('warehouse'), 'd.ts', builtinKinds()).tasks.get('r')?.options).toMatchObject({ connection: 'warehouse' });
  });
});
