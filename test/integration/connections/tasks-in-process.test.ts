/**
 * Tasks on connections, their handlers run in this process (test/support/task-context.ts).
 * extract on an http connection: its URL is the base the task's `url` path is resolved under, its
 * token (connections file) or basic password (URL) goes in every request's Authorization header,
 * never in a log line or the stored rows; a `url` leaving the connection's origin is refused before
 * any request. A validate naming a connection this worker does not have fails permanently. A load
 * run outside the queues (no claimed attempt, as `trib run-task` runs it) commits on the warehouse
 * without an inbox row, and runs again when asked again (the ledger skipping its file).
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeConnections } from '../../../engine/connections.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { createLogger } from '../../../engine/logger.ts';
import { extractOptions, runExtract } from '../../../jobs/extract/index.ts';
import { validateKind, validateOptions } from '../../../jobs/validate/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask } from '../../support/task-context.ts';
import { loadOptions, runLoad } from '../../../jobs/load/index.ts';
import { createWarehouse, dayFile, loadTask, tempFolder } from './warehouse-setup.ts';

const TOKEN = 'api-token-5e8d1c7b9a';
const PASSWORD = 'api-basic-pw-3f2a';

let database: TestDatabase;
let server: http.Server;
let base: string;
let dir: string;
const requests: Array<{ url: string; authorization?: string }> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempFolder('conn-extract');
  server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const auth = req.headers.authorization;
    if (auth !== `Bearer ${TOKEN}` && auth !== `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}`) return void res.writeHead(401).end();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await closeConnections();
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await database?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const options = (url: string) => extractOptions.parse({
  connection: 'api', url, target: 'crm.accounts', key: ['id'], paging: { style: 'page', size: 100 },
  columns: [{ name: 'id', type: 'integer' }, { name: 'name', type: 'text' }],
});

describe('extract on an http connection', () => {
  it('resolves the url under the connection and sends its token; the token is in no log line or row', async () => {
    const file = path.join(dir, 'connections.yaml');
    await fs.writeFile(file, `api:\n  url: ${base}/v1\n  token: ${TOKEN}\n`, { mode: 0o600 });
    vi.stubEnv('TRIB_CONNECTIONS_FILE', file);
    const lines: string[] = [];
    const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
    requests.length = 0;
    const result = await runTask(database.pool, (ctx) => runExtract({ ...ctx, log }, options('/accounts')), { runId: '1' });
    expect(result).toMatchObject({ rows_loaded: 2, requests: 1 });
    expect(requests).toEqual([{ url: '/v1/accounts?page=1&page_size=100', authorization: `Bearer ${TOKEN}` }]);
    log.info({ headers: { authorization: `Bearer ${TOKEN}` } }, `a handler that logs ${TOKEN} by mistake`);
    expect(lines.join('')).toContain('by mistake');
    expect(lines.join('')).not.toContain(TOKEN);
    const { rows } = await database.pool.query(`SELECT string_agg(t::text, ' ') AS text FROM audit.crm_accounts_history t`);
    expect(String(rows[0].text ?? '')).not.toContain(TOKEN);
  });

  it('takes basic credentials from the URL of TRIB_CONN_<NAME>', async () => {
    vi.stubEnv('TRIB_CONN_API', `${base.replace('//', `//svc:${PASSWORD}@`)}/v1/`);
    requests.length = 0;
    await runTask(database.pool, (ctx) => runExtract(ctx, options('accounts')), { runId: '2' });
    expect(requests).toEqual([{ url: '/v1/accounts?page=1&page_size=100', authorization: `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}` }]);
  });

  it('refuses a url that leaves the connection\'s origin, before any request', async () => {
    vi.stubEnv('TRIB_CONN_API', `${base}/v1/`);
    requests.length = 0;
    const err = await runTask(database.pool, (ctx) => runExtract(ctx, options('http://elsewhere.example/steal')), { runId: '3' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ code: 'OPTIONS_INVALID', message: expect.stringContaining('must be a path under connection "api"') });
    expect(requests).toEqual([]);
  });
});

describe('a load into a warehouse outside the queues', () => {
  it('commits rows and ledger on the warehouse, no inbox row; run again, the ledger skips the file', async () => {
    const warehouse = await createWarehouse();
    try {
      const day = await dayFile(path.join(dir, 'data'));
      vi.stubEnv('TRIB_CONN_WAREHOUSE', warehouse.url);
      const parsed = loadOptions.parse(loadTask(day.dir).options);
      const first = await runTask(database.pool, (ctx) => runLoad(ctx, parsed), { dataRoots: [dir] });
      expect(first).toMatchObject({ rows_loaded: day.valid, rows_rejected: day.rejected });
      const again = await runTask(database.pool, (ctx) => runLoad(ctx, parsed), { dataRoots: [dir] });
      expect(again).toMatchObject({ rows_loaded: 0, files: [{ skipped: true }] });
      const count = async (sql: string) => Number((await warehouse.database.pool.query(sql)).rows[0].n);
      expect(await count('SELECT count(*) AS n FROM public.customer_ratings')).toBe(day.valid);
      expect(await count('SELECT count(*) AS n FROM tributary.load_ledger')).toBe(1);
      expect(await count('SELECT count(*) AS n FROM tributary.load_inbox')).toBe(0);
    } finally {
      await closeConnections();
      await warehouse.drop();
    }
  });
});

describe('a connection the worker does not have', () => {
  it('fails the task permanently, naming the variable to set', async () => {
    const parsed = validateOptions.parse({ connection: 'warehouse', checks: [{ name: 'n', kind: 'row_count', table: 'x', min: 1 }] });
    const err = await runTask(database.pool, (ctx) => validateKind.handler(ctx, parsed) as Promise<unknown>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', retryable: false, message: expect.stringContaining('set TRIB_CONN_WAREHOUSE') });
  });
});
