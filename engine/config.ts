/**
 * Configuration from the environment, validated once at start. Every bad value is reported on
 * its own line naming the variable; nothing here reads files or exits on import.
 */
import { z } from 'zod';
import { TributaryError } from './errors.ts';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z
  .object({
    /** Postgres of record; empty in standalone mode (embedded Postgres is started). */
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
    /** @default 'redis' when REDIS_URL is set, else 'postgres' */
    QUEUE_BACKEND: z.enum(['redis', 'postgres']).optional(),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    /** Key prefix (redis) or schema (postgres) of the queues. @default 'tributary' */
    QUEUE_PREFIX: z.string().regex(/^[a-z_][a-z0-9_]{0,40}$/, 'lowercase letters, digits, underscore').default('tributary'),
    /** Folder of DAG files. @default 'schedules' */
    DAGS_DIR: z.string().min(1).default('schedules'),
    /** `off` serves the dashboard without a token (only behind your own auth). @default 'on' */
    DASHBOARD_AUTH: z.enum(['on', 'off']).default('on'),
    /** Port of the embedded Postgres of `trib standalone`. @default a free port */
    EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** Bearer token for the dashboard and API; required unless DASHBOARD_AUTH=off. */
    DASHBOARD_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** @default '127.0.0.1' */
    DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
    /** @default 8080 */
    DASHBOARD_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
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
    /** @default 'info' */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Folder of the embedded Postgres data and other local state. @default '.tributary' */
    TRIBUTARY_HOME: z.string().min(1).default('.tributary'),
  })
  .superRefine((env, ctx) => {
    if (env.QUEUE_BACKEND === 'redis' && !env.REDIS_URL) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'is required when QUEUE_BACKEND=redis' });
    }
  });

export type RawConfig = z.infer<typeof schema>;

/** Every environment variable Tributary reads (docker-compose and docs are checked against it). */
export const CONFIG_KEYS = Object.keys(schema.shape) as (keyof RawConfig)[];

export interface Config extends Omit<RawConfig, 'QUEUE_CONCURRENCY' | 'QUEUE_BACKEND'> {
  QUEUE_BACKEND: 'redis' | 'postgres';
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
    concurrency: (queue) => perQueue.get(queue) ?? raw.WORKER_CONCURRENCY,
  };
}

/** `postgres://user:secret@host` → `postgres://user:***@host`, for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}
