/**
 * Named connections: the databases and HTTP sources tasks work on besides the database of record.
 * From the environment, `TRIB_CONN_<NAME>=postgres://user:pass@host/db` (kind from the scheme:
 * postgres/postgresql, http/https), and from an optional file outside the repo
 * (`TRIB_CONNECTIONS_FILE`, YAML or JSON: `name: { url, token? }`; refused when group or others
 * may open it). Parsed and validated once (zod); names are lower-cased. Secret parts (the URL's
 * password, secret-looking query parameters, a token) are never stored, never shown (`redacted()`)
 * and masked in every log line of the process. A postgres connection gets one pool, made on first
 * use and closed with the engine (`closeConnections`).
 */
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { connect, DEFAULT_ENGINE_SCHEMA, type Database } from '../db/client.ts';
import type pg from 'pg';
import { describeError, TributaryError } from './errors.ts';
import { hideInAllLogs, REDACTED } from './logger.ts';
import { isSecretKey } from './secret-params.ts';

export type ConnectionKind = 'postgres' | 'http';

export interface Connection {
  /** Lower case: `TRIB_CONN_WAREHOUSE` is `warehouse`. */
  name: string;
  kind: ConnectionKind;
  /** The URL as given, secrets included: never print it (see `redacted`). */
  url: URL;
  /** http: a bearer token (file only). */
  token?: string;
  /** Where it was defined: `TRIB_CONN_WAREHOUSE` or the file's path. */
  source: string;
}

/** A connection as it may be shown: secrets masked. */
export interface ShownConnection {
  name: string;
  kind: ConnectionKind;
  url: string;
  source: string;
}

const ENV_PREFIX = 'TRIB_CONN_';
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const KINDS: Record<string, ConnectionKind> = { 'postgres:': 'postgres', 'postgresql:': 'postgres', 'http:': 'http', 'https:': 'http' };
/** Connections of one pool per postgres connection. */
const POOL_MAX = 10;

const urlText = z.string().min(1).refine((text) => URL.canParse(text) && new URL(text).protocol in KINDS, {
  message: 'must be a postgres://, postgresql://, http:// or https:// URL',
});
const fileEntry = z.object({
  /** The connection's URL (credentials may be in it). */
  url: urlText,
  /** http only: sent as `Authorization: Bearer <token>`. */
  token: z.string().min(1).optional(),
}).strict();
const fileSchema = z.record(z.string().regex(NAME, 'a connection name is a lower-case letter, then letters, digits, _'), fileEntry);

/** `postgres://user:••••••@host/db?sslpassword=••••••`: the password and secret-looking query values masked. */
export function redacted(url: URL): string {
  const auth = url.username ? `${url.username}${url.password ? `:${REDACTED}` : ''}@` : url.password ? `:${REDACTED}@` : '';
  const query = url.search.slice(1).split('&').filter(Boolean).map((pair) => {
    const [key] = pair.split('=');
    return isSecretKey(safeDecode(key)) ? `${key}=${REDACTED}` : pair;
  });
  return `${url.protocol}//${auth}${url.host}${url.pathname}${query.length > 0 ? `?${query.join('&')}` : ''}${url.hash}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The secret parts of a connection, as they may appear in text: raw (percent-encoded) and decoded. */
function secretsOf(c: Connection): string[] {
  const raw = [c.url.password, ...[...c.url.searchParams].filter(([k]) => isSecretKey(k)).map(([, v]) => v), c.token ?? ''];
  return [...new Set(raw.flatMap((s) => [s, safeDecode(s)]).filter((s) => s !== ''))];
}

const article = (kind: ConnectionKind) => (kind === 'http' ? `an ${kind}` : `a ${kind}`);

function invalid(message: string): never {
  throw new TributaryError('CONFIG_INVALID', message);
}

function toConnection(name: string, text: string, source: string, token?: string): Connection {
  const parsed = urlText.safeParse(text);
  if (!parsed.success) invalid(`connection "${name}" (${source}): the URL ${parsed.error.issues[0].message}`);
  const url = new URL(text);
  const kind = KINDS[url.protocol];
  if (token !== undefined && kind !== 'http') invalid(`connection "${name}" (${source}): a token is for http connections only`);
  if (token !== undefined && (url.username || url.password)) invalid(`connection "${name}" (${source}): give credentials in the URL or a token, not both`);
  return { name, kind, url, ...(token === undefined ? {} : { token }), source };
}

function fromFile(file: string): Connection[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    return invalid(`TRIB_CONNECTIONS_FILE ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if ((stat.mode & 0o077) !== 0) {
    invalid(`TRIB_CONNECTIONS_FILE ${file} may be opened by group or others (mode ${(stat.mode & 0o777).toString(8)}): it holds credentials — run chmod 600 ${file}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return invalid(`TRIB_CONNECTIONS_FILE ${file} is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    invalid(`TRIB_CONNECTIONS_FILE ${file}: ${issue.path.join('.') || '(top)'} ${issue.message} (expected \`name: { url, token? }\` per connection)`);
  }
  return Object.entries(parsed.data).map(([name, entry]) => toConnection(name, entry.url, file, entry.token));
}

function fromEnvironment(env: NodeJS.ProcessEnv): Connection[] {
  return Object.entries(env)
    .filter(([key, value]) => key.startsWith(ENV_PREFIX) && value !== undefined && value !== '')
    .map(([key, value]) => {
      const name = key.slice(ENV_PREFIX.length).toLowerCase();
      if (!NAME.test(name)) invalid(`${key}: a connection name is a letter, then letters, digits, _ (TRIB_CONN_WAREHOUSE is "warehouse")`);
      return toConnection(name, value as string, key);
    });
}

/** True when this environment defines connections at all: only then can a DAG's names be checked when it loads. */
export function connectionsConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.TRIB_CONNECTIONS_FILE) || Object.keys(env).some((key) => key.startsWith(ENV_PREFIX) && env[key]);
}

export class Connections {
  private readonly byName: ReadonlyMap<string, Connection>;
  private readonly pools = new Map<string, Database>();

  private constructor(list: Connection[]) {
    const byName = new Map<string, Connection>();
    for (const c of list) {
      const other = byName.get(c.name);
      if (other) invalid(`connection "${c.name}" is defined twice (${other.source} and ${c.source}): keep one`);
      byName.set(c.name, c);
    }
    this.byName = byName;
  }

  /** Parses and validates every connection of `env` (and its TRIB_CONNECTIONS_FILE); CONFIG_INVALID naming the first problem. */
  static load(env: NodeJS.ProcessEnv = process.env): Connections {
    return new Connections([...fromEnvironment(env), ...(env.TRIB_CONNECTIONS_FILE ? fromFile(env.TRIB_CONNECTIONS_FILE) : [])]);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Every connection, secrets masked, by name. */
  list(): ShownConnection[] {
    return this.names().map((name) => this.shown(this.byName.get(name) as Connection));
  }

  shown(c: Connection): ShownConnection {
    return { name: c.name, kind: c.kind, url: redacted(c.url), source: c.source };
  }

  /** Every secret value of every connection (for log masking). */
  secrets(): string[] {
    return [...this.byName.values()].flatMap(secretsOf);
  }

  /** The connection `name` (of `kind`, when given); CONFIG_INVALID (permanent) when this process has none such. */
  get(name: string, kind?: ConnectionKind): Connection {
    const c = this.byName.get(name);
    if (!c) {
      const known = this.names().join(', ') || 'none';
      invalid(`connection "${name}" is not defined in this process (known: ${known}); set TRIB_CONN_${name.toUpperCase()} or add it to TRIB_CONNECTIONS_FILE where the workers run`);
    }
    if (kind !== undefined && c.kind !== kind) invalid(`connection "${name}" is ${article(c.kind)} connection (${redacted(c.url)}); this option needs ${article(kind)} one`);
    return c;
  }

  /**
   * The pool of postgres connection `name`, made on first use. Its sessions resolve unqualified
   * names in a `tributary` schema first (the warehouse side of a load keeps its ledger and inbox
   * there); user tables are always written qualified.
   */
  pool(name: string): pg.Pool {
    const existing = this.pools.get(name);
    if (existing) return existing.pool;
    const c = this.get(name, 'postgres');
    // A lost connection surfaces on the query that used it; an idle one's error must not crash the process.
    const database = connect(c.url.href, { max: POOL_MAX, applicationName: 'tributary', schema: DEFAULT_ENGINE_SCHEMA, idleInTransactionMs: 900_000, onError: () => undefined });
    this.pools.set(name, database);
    return database.pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }
}

/** `text` with every secret of `c` masked (a driver's message may quote what it was given). */
function masked(text: string, c: Connection): string {
  return secretsOf(c).reduce((out, secret) => out.split(secret).join(REDACTED), text);
}

/**
 * Tries connection `c` once: postgres — connect, `SELECT 1` and the server version; http — a HEAD
 * (a GET when HEAD is not allowed) of its URL with its credentials. Returns one line saying how it
 * went; throws one (DATABASE_UNAVAILABLE / SOURCE_UNAVAILABLE) when it failed: unreachable, refused
 * credentials (401, 403, 407) or a server error (5xx). Secrets never appear in either.
 */
export async function testConnection(c: Connection, timeoutMs: number): Promise<string> {
  const label = `connection ${c.name} (${redacted(c.url)})`;
  const started = Date.now();
  if (c.kind === 'postgres') {
    const { default: pg } = await import('../db/pg.ts');
    const client = new pg.Client({ connectionString: c.url.href, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs, application_name: 'tributary' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return `${label}: ok — PostgreSQL ${rows[0].server_version}, connected and ran SELECT 1 in ${Date.now() - started} ms`;
    } catch (err) {
      throw new TributaryError('DATABASE_UNAVAILABLE', masked(`${label}: failed — ${describeError(err)}`, c));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const { base, headers } = httpAccess(c);
  const ask = (method: string) => fetch(base, { method, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  let status: number;
  let method = 'HEAD';
  try {
    status = (await ask(method)).status;
    if (status === 405 || status === 501) status = (await ask((method = 'GET'))).status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new TributaryError('SOURCE_UNAVAILABLE', masked(`${label}: failed — ${reason}`, c));
  }
  const answered = `HTTP ${status} to ${method} in ${Date.now() - started} ms`;
  if (status === 401 || status === 403 || status === 407) throw new TributaryError('SOURCE_UNAVAILABLE', `${label}: failed — credentials refused (${answered})`);
  if (status >= 500) throw new TributaryError('SOURCE_UNAVAILABLE', `${label}: failed — server error (${answered})`);
  return `${label}: ok — ${answered}`;
}

/** http: the base URL without credentials and the Authorization header its credentials make (never log it). */
export function httpAccess(c: Connection): { base: URL; headers: Record<string, string> } {
  const base = new URL(c.url.href);
  base.username = '';
  base.password = '';
  if (c.token !== undefined) return { base, headers: { authorization: `Bearer ${c.token}` } };
  if (!c.url.username && !c.url.password) return { base, headers: {} };
  const basic = Buffer.from(`${safeDecode(c.url.username)}:${safeDecode(c.url.password)}`).toString('base64');
  hideInAllLogs(basic);
  return { base, headers: { authorization: `Basic ${basic}` } };
}

let current: Connections | null = null;

/**
 * This process's connections, read from process.env on first use (so importing does nothing) and
 * kept until closeConnections; their secrets are masked in every log line from then on.
 */
export function processConnections(): Connections {
  if (current === null) {
    const loaded = Connections.load(process.env);
    for (const secret of loaded.secrets()) hideInAllLogs(secret);
    current = loaded;
  }
  return current;
}

/** Closes the pools of this process's connections; the next use reads the environment again. */
export async function closeConnections(): Promise<void> {
  const closing = current;
  current = null;
  await closing?.close();
}

/**
 * The `connection` option of a job kind: a connection name of `kind`. Checked when the DAG loads
 * if this process defines connections (an unknown name or another kind is then a DAG_INVALID);
 * else — a scheduler without the workers' credentials — when the task runs.
 */
export function connectionOption(kind: ConnectionKind) {
  return z.string().regex(NAME, 'a connection name is a lower-case letter, then letters, digits, _ (TRIB_CONN_WAREHOUSE is "warehouse")')
    .superRefine((name, ctx) => {
      if (!connectionsConfigured()) return;
      try {
        processConnections().get(name, kind);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof TributaryError ? err.message : String(err) });
      }
    });
}
