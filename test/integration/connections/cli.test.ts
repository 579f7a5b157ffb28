/**
 * `trib connections list|test` through the real CLI: connections from TRIB_CONN_* and a connections
 * file, listed with their secrets masked; `test` reaches a real Postgres (the warehouse database)
 * and a real HTTP server checking the credentials, one line either way, exit 1 on failure; a file
 * others may read is refused. No secret in any output.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../db/embedded.ts';
import { cliEnv, trib, type CliResult } from '../../support/cli.ts';
import { createWarehouse, tempFolder, type Warehouse } from './warehouse-setup.ts';

const TOKEN = 'tok-7f3a9c1e5b2d4e6f';
const BASIC_PASSWORD = 'b4sic-Pa55word-91';

let warehouse: Warehouse;
let dir: string;
let server: http.Server;
let api: string;
let env: NodeJS.ProcessEnv;

const secrets = () => [warehouse.secret, TOKEN, BASIC_PASSWORD];
function expectNoSecret(r: CliResult): void {
  for (const secret of secrets()) {
    expect(r.stdout).not.toContain(secret);
    expect(r.stderr).not.toContain(secret);
  }
}

async function connectionsFile(name: string, text: string, mode: number): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  await fs.chmod(file, mode);
  return file;
}

beforeAll(async () => {
  warehouse = await createWarehouse();
  dir = await tempFolder('conn-cli');
  // Answers 204 to a request with the right bearer token or basic password, 401 otherwise.
  server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const ok = auth === `Bearer ${TOKEN}` || auth === `Basic ${Buffer.from(`bob:${BASIC_PASSWORD}`).toString('base64')}`;
    res.writeHead(ok ? 204 : 401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  const file = await connectionsFile('connections.yaml', `api:\n  url: ${api}\n  token: ${TOKEN}\n`, 0o600);
  env = cliEnv({ TRIB_CONN_WAREHOUSE: warehouse.url, TRIB_CONN_BASIC: api.replace('//', `//bob:${BASIC_PASSWORD}@`), TRIB_CONNECTIONS_FILE: file });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await warehouse?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('trib connections', () => {
  it('list: every connection with its kind, masked URL and where it is defined', async () => {
    const r = await trib(['connections', 'list'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+URL\s+DEFINED BY$/);
    const shownWarehouse = warehouse.url.replace(warehouse.secret, '••••••');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^api\\s+http\\s+${api.replace(/[.?/]/g, '\\$&')}\\s+.*connections\\.yaml$`)),
      expect.stringMatching(/^basic\s+http\s+http:\/\/bob:••••••@127\.0\.0\.1:\d+\/v1\/\s+TRIB_CONN_BASIC$/),
      `warehouse  postgres  ${shownWarehouse}  TRIB_CONN_WAREHOUSE`,
    ]);
    expectNoSecret(r);
  });

  it('test <postgres>: connects, runs SELECT 1 and names the server version', async () => {
    const r = await trib(['connections', 'test', 'warehouse'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^connection warehouse \(postgres:\/\/wh_[0-9a-f]+:••••••@127\.0\.0\.1:\d+\/t_[0-9a-f]+\): ok — PostgreSQL \d+(\.\d+)?\S*, connected and ran SELECT 1 in \d+ ms\n$/);
    expectNoSecret(r);
  });

  it('test <postgres> that is down: one line on stderr, exit 1', async () => {
    const down = `postgres://postgres:${warehouse.secret}@127.0.0.1:${await freePort()}/nowhere`;
    const r = await trib(['connections', 'test', 'down'], { ...env, TRIB_CONN_DOWN: down });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^trib: DATABASE_UNAVAILABLE: connection down \(postgres:\/\/postgres:••••••@127\.0\.0\.1:\d+\/nowhere\): failed — .*ECONNREFUSED.*\n$/);
    expectNoSecret(r);
  });

  it('test <http>: the token (file) and the basic password (URL) reach the server; a wrong token fails with exit 1', async () => {
    for (const name of ['api', 'basic']) {
      const r = await trib(['connections', 'test', name], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^connection ${name} \\(.*\\): ok — HTTP 204 to HEAD in \\d+ ms\\n$`));
      expectNoSecret(r);
    }
    const wrong = await connectionsFile('wrong.yaml', `api:\n  url: ${api}\n  token: not-${TOKEN}\n`, 0o600);
    const r = await trib(['connections', 'test', 'api'], { ...env, TRIB_CONNECTIONS_FILE: wrong });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trib: SOURCE_UNAVAILABLE: connection api \(http:\/\/127\.0\.0\.1:\d+\/v1\/\): failed — credentials refused \(HTTP 401 to HEAD in \d+ ms\)\n$/);
    expectNoSecret(r);
  });

  it('a connections file others may read is refused, saying why', async () => {
    const open = await connectionsFile('open.yaml', `api:\n  url: ${api}\n  token: ${TOKEN}\n`, 0o644);
    const r = await trib(['connections', 'list'], { ...env, TRIB_CONNECTIONS_FILE: open });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`trib: CONFIG_INVALID: TRIB_CONNECTIONS_FILE ${open} may be opened by group or others (mode 644): it holds credentials — run chmod 600 ${open}\n`);
  });

  it('test of a name not defined: CONFIG_INVALID naming the variable to set', async () => {
    const r = await trib(['connections', 'test', 'nowhere'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('trib: CONFIG_INVALID: connection "nowhere" is not defined in this process (known: api, basic, warehouse); set TRIB_CONN_NOWHERE or add it to TRIB_CONNECTIONS_FILE where the workers run\n');
  });
});
