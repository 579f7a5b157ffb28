/**
 * A real engine for integration tests: its own database, its own queue prefix/schema, the
 * chosen backend (redis | postgres), the shipped kinds plus kinds the test registers.
 */
import os from 'node:os';
import { pino } from 'pino';
import { z } from 'zod';
import { compileDag } from '../../engine/dag.ts';
import { Engine } from '../../engine/engine.ts';
import { TributaryError } from '../../engine/errors.ts';
import { effectsSettled } from '../../engine/file-effects.ts';
import type { CompiledDag, DagSpec, HandlerOutcome, JobKind, Json, TaskState } from '../../engine/types.ts';
import { builtinKinds } from '../../jobs/index.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from './db.ts';

export type BackendKind = 'redis' | 'postgres';
export const BACKENDS: BackendKind[] = ['redis', 'postgres'];

export interface TestEngine {
  engine: Engine;
  database: TestDatabase;
  dags: Map<string, CompiledDag>;
  kinds: Map<string, JobKind>;
  /** Waits until the run is success/failed; returns its state. */
  waitForRun(runId: number, timeoutMs?: number): Promise<string>;
  /** task id (or `task[i]` for mapped children) → state. */
  taskStates(runId: number): Promise<Record<string, TaskState>>;
  close(): Promise<void>;
}

/**
 * Test-only kinds (never shipped): `effect` inserts one row per successful try into `effects`
 * (created with the test database)
 * (so double effects are visible); `flaky` fails with a retryable error until its try number
 * reaches `succeedOnTry` (0 = never; `permanent` makes the error non-retryable).
 */
export function testKinds(): JobKind[] {
  const effect: JobKind<{ label: string; sleepMs: number }> = {
    name: 'effect',
    options: z.object({ label: z.string().default('x'), sleepMs: z.number().default(0) }).default({ label: 'x', sleepMs: 0 }),
    async handler(ctx, options) {
      if (options.sleepMs > 0) await new Promise((r) => setTimeout(r, options.sleepMs));
      await ctx.client.query('INSERT INTO effects (run_id, task_id, map_index, label) VALUES ($1, $2, $3, $4)', [
        ctx.runId, ctx.taskId, ctx.mapIndex, options.label,
      ]);
      return { label: options.label, item: ctx.mapItem ?? null, upstream: ctx.upstream } as Json;
    },
  };
  const flaky: JobKind<{ succeedOnTry: number; permanent: boolean }> = {
    name: 'flaky',
    options: z.object({ succeedOnTry: z.number().default(0), permanent: z.boolean().default(false) }).default({ succeedOnTry: 0, permanent: false }),
    async handler(ctx, options) {
      if (options.succeedOnTry > 0 && ctx.tryNumber >= options.succeedOnTry) return { try: ctx.tryNumber };
      throw new TributaryError(options.permanent ? 'OPTIONS_INVALID' : 'TASK_FAILED', `planted failure on try ${ctx.tryNumber}`);
    },
  };
  /** Re-schedules itself (without holding a worker slot) until it has been poked `times` times. */
  const poker: JobKind<{ times: number }> = {
    name: 'poker',
    options: z.object({ times: z.number().default(2) }).prefault({}),
    async handler(ctx, options): Promise<HandlerOutcome> {
      const pokes = typeof ctx.resumeState === 'number' ? ctx.resumeState : 0;
      if (pokes < options.times) return { reschedule: { delayMs: 50, state: pokes + 1 } };
      return { pokes };
    },
  };
  return [effect as JobKind, flaky as JobKind, poker as JobKind];
}

export async function startTestEngine(options: {
  backend: BackendKind;
  dags: DagSpec[];
  kinds?: JobKind[];
  lockDurationMs?: number;
  workers?: boolean;
  /** Folders tasks may touch files in. @default [os.tmpdir()], where the tests keep their files */
  dataRoots?: string[];
  /** @default 4 per queue */
  concurrency?: number;
  /** Postgres connections of the engine. @default 10 */
  poolSize?: number;
  /** Tries one delivery may run back to back (HANDOVER_MAX). @default the engine's (20) */
  handoverMax?: number;
  /** Engine retries of one try after infrastructure errors (INFRA_RETRY_MAX). @default the engine's (10) */
  infraRetryMax?: number;
  /** The engine's schema (TRIBUTARY_SCHEMA). @default 'tributary' */
  schema?: string;
  /** New DAGs start paused (DAGS_PAUSED_AT_CREATION). @default the engine's (false) */
  pausedAtCreation?: boolean;
  /** Another Redis than the suite's (e.g. a local cluster, with a `{hash tag}` queuePrefix). @default the suite's server */
  redis?: { url: string; cluster: boolean };
  /** @default a unique prefix per engine */
  queuePrefix?: string;
}): Promise<TestEngine> {
  const database = await createTestDatabase({ schema: options.schema });
  await database.pool.query(
    'CREATE TABLE public.effects (run_id bigint, task_id text, map_index int, label text, at timestamptz DEFAULT clock_timestamp())',
  );
  const kinds = builtinKinds();
  for (const kind of [...testKinds(), ...(options.kinds ?? [])]) kinds.set(kind.name, kind);
  const dags = new Map(options.dags.map((spec) => [spec.id, compileDag(spec, `test/${spec.id}.ts`, kinds)]));
  const engine = new Engine({
    databaseUrl: database.url,
    queueBackend: options.backend,
    redisUrl: options.redis?.url ?? redisUrl(),
    redisCluster: options.redis?.cluster,
    queuePrefix: options.queuePrefix ?? uniquePrefix(options.backend === 'redis' ? 'tq' : 'bullmq_t'),
    dags,
    kinds,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    dataRoots: options.dataRoots ?? [os.tmpdir()],
    poolSize: options.poolSize,
    handoverMax: options.handoverMax,
    infraRetryMax: options.infraRetryMax,
    schema: options.schema,
    pausedAtCreation: options.pausedAtCreation,
  });
  await engine.register();
  if (options.workers !== false) {
    engine.startWorkers({ concurrency: () => options.concurrency ?? 4, lockDurationMs: options.lockDurationMs ?? 5_000 });
  }
  const handle: TestEngine = {
    engine,
    database,
    dags,
    kinds,
    async waitForRun(runId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId]);
        const state = rows[0]?.state;
        if (state === 'success' || state === 'failed') {
          await effectsSettled(database.pool, runId); // the last task's report is renamed after its COMMIT
          return state;
        }
        if (Date.now() > deadline) throw new Error(`run ${runId} still ${state} after ${timeoutMs} ms: ${JSON.stringify(await handle.taskStates(runId))}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async taskStates(runId) {
      const { rows } = await database.pool.query<{ task_id: string; map_index: number; state: TaskState }>(
        'SELECT task_id, map_index, state FROM task_instances WHERE run_id = $1 ORDER BY task_id, map_index',
        [runId],
      );
      return Object.fromEntries(rows.map((r) => [r.map_index < 0 ? r.task_id : `${r.task_id}[${r.map_index}]`, r.state]));
    },
    async close() {
      await engine.close();
      await database.drop();
    },
  };
  return handle;
}
