/**
 * Configuration from the environment, validated once at start. Every bad value is reported on
 * its own line naming the variable; nothing here reads files or exits on import.
 */
import path from 'node:path';
import { z } from 'zod';
import { TributaryError } from './errors.ts';
import { HASH_TAG_MESSAGE, hasHashTag } from './queues.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `90s`, `30m`, `12h`, `7d` → milliseconds. */
const duration = (fallback: string) =>
  z.string().regex(/^[1-9]\d{0,5}[smhd]$/, 'must be a whole number and a unit s, m, h or d, like 30m or 12h').default(fallback)
    .transform((v) => Number(v.slice(0, -1)) * UNIT_MS[v.slice(-1)]);

const schema = z
  .object({
    /** Postgres of record; empty in standalone mode (embedded Postgres is started). */
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
    /** @default 'redis' when REDIS_URL is set, else 'postgres' */
    QUEUE_BACKEND: z.enum(['redis', 'postgres']).optional(),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    /**
     * `true`: REDIS_URL is a Redis Cluster — one node, or a comma list of seed nodes — reached through
     * ioredis' Cluster client; QUEUE_PREFIX must then carry a hash tag (`{tributary}`). @default false
     */
    REDIS_CLUSTER: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    /** Key prefix (redis) or schema (postgres) of the queues; `{name}` (a Redis Cluster hash tag) for redis only. @default 'tributary' */
    QUEUE_PREFIX: z.string().regex(/^([a-z_][a-z0-9_]{0,40}|\{[a-z_][a-z0-9_]{0,40}\}[a-z0-9_]{0,20})$/, 'lowercase letters, digits, underscore (or {name} for a Redis Cluster)').default('tributary'),
    /**
     * Postgres schema of the engine's own tables and functions (runs, tries, ledgers, results).
     * Every Tributary connection resolves unqualified names there first. @default 'tributary'
     */
    TRIBUTARY_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits, underscore')
      .refine((v) => !['public', 'audit', 'bullmq', 'pg_catalog', 'information_schema'].includes(v), 'must be a schema of its own').default('tributary'),
    /** Folder of DAG files. @default 'schedules' */
    DAGS_DIR: z.string().min(1).default('schedules'),
    /**
     * A DAG first registered in a database starts paused: its schedule creates no runs until
     * `trib unpause` (manual triggers and backfills still run). A DAG's own `pausedAtCreation`
     * wins; an existing DAG keeps its flag. @default true
     */
    DAGS_PAUSED_AT_CREATION: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    /**
     * `on`: named users (`trib users add`) and the shared DASHBOARD_TOKEN (as user `token`, role admin);
     * `users`: named users only, no shared token; `off`: no login at all (only behind your own auth). @default 'on'
     */
    DASHBOARD_AUTH: z.enum(['on', 'users', 'off']).default('on'),
    /** Port of the embedded Postgres of `trib standalone`. @default a free port */
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** The shared bearer token for the dashboard and API (user `token`, role admin); required when DASHBOARD_AUTH=on. */
    DASHBOARD_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** @default '127.0.0.1' */
    DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
    /**
     * Host names (comma list, port ignored) the dashboard answers to; any other Host header gets 421
     * (DNS rebinding). PUBLIC_URL's host is always added. @default `localhost,127.0.0.1,[::1]` and
     * DASHBOARD_HOST unless it is 0.0.0.0 / ::
     */
    DASHBOARD_ALLOWED_HOSTS: z.string().regex(/^\s*[^,\s]+\s*(,\s*[^,\s]+\s*)*$/, 'must be host names separated by commas').optional(),
    /** `true` lets a non-loopback DASHBOARD_HOST start with DASHBOARD_AUTH=off (your own proxy authenticates). @default false */
    DASHBOARD_EXPOSE_UNAUTHENTICATED: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    /** A dashboard session ends after this long without a request (`30m`, `12h`, `2d`). @default 12h */
    DASHBOARD_SESSION_IDLE: duration('12h'),
    /** A dashboard session ends this long after its login, however active (`12h`, `7d`). @default 7d */
    DASHBOARD_SESSION_MAX_AGE: duration('7d'),
    /** @default 8080 */
    DASHBOARD_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    /**
     * The dashboard's address as people reach it (behind a proxy, another host): the base of the run
     * links callbacks send. @default `http://DASHBOARD_HOST:DASHBOARD_PORT`
     */
    PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, like https://tributary.example.com' }).optional(),
    /** Worker concurrency per queue, e.g. `load=2,report=1`; others use WORKER_CONCURRENCY. */
    QUEUE_CONCURRENCY: z
      .string()
      .regex(/^([a-z_]+=\d+)(,[a-z_]+=\d+)*$/, 'must look like load=2,report=1')
      .optional(),
    /** @default 4 */
    WORKER_CONCURRENCY: positiveInt(4),
    /** How often the sweeper repairs queued tasks without a job. @default 15000 */
    SWEEP_INTERVAL_MS: positiveInt(15_000),
    /** BullMQ lock: a worker silent this long is considered dead and its job re-delivered. @default 30000 */
    JOB_LOCK_MS: positiveInt(30_000),
    /** Postgres connections per process. @default the total worker concurrency + 8 */
    DATABASE_POOL_MAX: z.coerce.number().int().positive().optional(),
    /** A checkout from a starved pool (or an unreachable server) fails after this long. @default 10000 */
    DATABASE_CONNECT_TIMEOUT_MS: positiveInt(10_000),
    /**
     * A task's database session idle inside its transaction this long is ended by Postgres (its
     * locks go, the attempt fails as an outage and is retried): the backstop for a worker that is
     * stopped and never taken over. Longer than any pause a job makes between statements (an HTTP
     * source's backoff). @default 900000 (15 min)
     */
    TASK_IDLE_TIMEOUT_MS: positiveInt(900_000),
    /** The try fails with WORKER_LOST once this many of its attempts lost their worker. @default 2 */
    WORKER_LOST_LIMIT: z.coerce.number().int().min(1).default(2),
    /** Engine retries of one try after database/queue outages (the task's `retries` stay untouched). @default 10 */
    INFRA_RETRY_MAX: z.coerce.number().int().min(0).default(10),
    /**
     * Tries one worker slot may run back to back when a try's success makes the next one ready on
     * the same queue (claimed in the same transaction, no queue round trip); 0 = always go through
     * the queue. @default 20
     */
    HANDOVER_MAX: z.coerce.number().int().min(0).default(20),
    /** `trib backfill` refuses to create more runs than this without `--yes`. @default 1000 */
    BACKFILL_MAX_RUNS: positiveInt(1000),
    /** Days after which the scheduler deletes ended runs and their rows, daily; 0 = keep forever. @default 0 */
    RETENTION_DAYS: z.coerce.number().int().min(0).default(0),
    /** @default 'info' */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Folder of the embedded Postgres data and other local state. @default '.tributary' */
    TRIBUTARY_HOME: z.string().min(1).default('.tributary'),
    /**
     * Folders tasks may read and write files in, separated by path.delimiter (`:`); a DAG's
     * `dataRoots` add to them. @default `<TRIBUTARY_HOME>/data`, `/reports` and `/demo`
     */
    DATA_ROOTS: z.string().refine((v) => v.split(path.delimiter).some(Boolean), 'must name at least one folder').optional(),
    /**
     * A YAML or JSON file of named connections (`name: { url, token? }`), beside the
     * `TRIB_CONN_<NAME>=<url>` variables (engine/connections.ts); kept outside the repo, mode 600.
     */
    TRIB_CONNECTIONS_FILE: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.QUEUE_BACKEND === 'redis' && !env.REDIS_URL) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required when QUEUE_BACKEND=redis' });
    }
    const redis = (env.QUEUE_BACKEND ?? (env.REDIS_URL ? 'redis' : 'postgres')) === 'redis';
    if (redis && env.REDIS_CLUSTER && !hasHashTag(env.QUEUE_PREFIX)) {
      ctx.addIssue({ code: 'custom', path: ['QUEUE_PREFIX'], message: HASH_TAG_MESSAGE });
    }
    if (!redis && env.QUEUE_PREFIX.includes('{')) {
      ctx.addIssue({ code: 'custom', path: ['QUEUE_PREFIX'], message: 'is a Postgres schema with QUEUE_BACKEND=postgres: lowercase letters, digits, underscore, no {hash tag}' });
    }
  });

export type RawConfig = z.infer<typeof schema>;

/** Every environment variable Tributary reads (docker-compose and docs are checked against it). */
export const CONFIG_KEYS = Object.keys(schema.shape) as (keyof RawConfig)[];

export interface Config extends Omit<RawConfig, 'QUEUE_CONCURRENCY' | 'QUEUE_BACKEND'> {
  QUEUE_BACKEND: 'redis' | 'postgres';
  /** DATA_ROOTS as absolute folders (or the default ones). */
  dataRoots: string[];
  concurrency: (queue: string) => number;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked = Object.fromEntries(
    Object.keys(schema.shape ?? {}).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? 'environment');
      const shown = name === 'DASHBOARD_TOKEN' || /URL/.test(name) ? '' : ` (got ${JSON.stringify(picked[name])})`;
      return `${name}: ${i.message}${shown}`;
    });
    throw new TributaryError('CONFIG_INVALID', `invalid configuration — ${lines.join('; ')}`);
  }
  const raw = parsed.data;
  const perQueue = new Map(
    (raw.QUEUE_CONCURRENCY ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string])
      .map(([q, n]) => [q, Number(n)] as const),
  );
  return {
    ...raw,
    QUEUE_BACKEND: raw.QUEUE_BACKEND ?? (raw.REDIS_URL ? 'redis' : 'postgres'),
    dataRoots: raw.DATA_ROOTS
      ? raw.DATA_ROOTS.split(path.delimiter).filter(Boolean).map((root) => path.resolve(root))
      : defaultDataRoots(raw.TRIBUTARY_HOME),
    concurrency: (queue) => perQueue.get(queue) ?? raw.WORKER_CONCURRENCY,
  };
}

/** The data roots without DATA_ROOTS: the data, report and demo folders under TRIBUTARY_HOME. */
export function defaultDataRoots(home = '.tributary'): string[] {
  return ['data', 'reports', 'demo'].map((folder) => path.resolve(home, folder));
}

/** `postgres://user:secret@host` → `postgres://user:***@host`, for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}
