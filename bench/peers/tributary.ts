/**
 * Tributary as a bench:peers contender, on one queue backend with hand-over on (HANDOVER_MAX 20)
 * or off (0), on a database of its own. Three DAGs: `chain` (hops tasks in a line), `fanout` (a
 * task listing the items, a task mapped over them, a task after it) and `ping` (one task). The
 * last task of each is a `peer_mark` task whose handler tells the bench it started, so the bench
 * waits without polling the database.
 */
import { z } from 'zod';
import { pino } from 'pino';
import { connect } from '../../db/client.ts';
import { runMigrations } from '../../db/migrate.ts';
import { compileDag, defineDag } from '../../engine/dag.ts';
import { Engine } from '../../engine/engine.ts';
import { triggerRun } from '../../engine/operations.ts';
import type { JobKind, TaskSpec } from '../../engine/types.ts';
import { builtinKinds } from '../../jobs/index.ts';
import { Signal, type Contender, type Sizes } from './contender.ts';

function dags(sizes: Sizes) {
  const chain: Record<string, TaskSpec> = {};
  for (let i = 0; i < sizes.hops; i++) chain[`t${i}`] = { kind: i === sizes.hops - 1 ? 'peer_mark' : 'noop', upstream: i === 0 ? [] : [`t${i - 1}`] };
  return [
    defineDag({ id: 'chain', tasks: chain }),
    defineDag({
      id: 'fanout',
      tasks: {
        list: { kind: 'noop', options: { result: Array.from({ length: sizes.fanout }, (_, i) => i) } },
        each: { kind: 'noop', upstream: ['list'], mapOver: { task: 'list' } },
        done: { kind: 'peer_mark', upstream: ['each'] },
      },
    }),
    defineDag({ id: 'ping', tasks: { only: { kind: 'peer_mark' } } }),
  ];
}

/** Engines made so far: each gets its own queue prefix (a job id left in Redis by an earlier one would make an add a no-op). */
let made = 0;

export async function tributary(
  sizes: Sizes, backend: 'redis' | 'postgres', handoverMax: number, databaseUrl: string, redisUrl: string,
): Promise<Contender> {
  const marks = new Map<string, Signal<number>>();
  const mark: JobKind = {
    name: 'peer_mark',
    options: z.object({}).strict().prefault({}),
    async handler(ctx) {
      marks.get(ctx.dagId)?.fire(performance.now());
      return { ok: true };
    },
  };
  const kinds = new Map([...builtinKinds(), [mark.name, mark]]);
  const compiled = new Map(dags(sizes).map((d) => [d.id, compileDag(d, `bench/peers/${d.id}`, kinds)]));
  const database = connect(databaseUrl);
  await runMigrations(database);
  await database.close();
  const engine = new Engine({
    databaseUrl, queueBackend: backend, redisUrl, queuePrefix: `peers_${backend}_h${handoverMax}_${(made++).toString(36)}`, dags: compiled, kinds,
    log: pino({ level: 'silent' }), poolSize: 20, handoverMax,
  });
  await engine.register();
  engine.startWorkers({ concurrency: () => sizes.concurrency });
  let day = 0;
  /** Triggers a run of the DAG; resolves with the time its mark task started. */
  const runOf = async (dagId: string) => {
    const signal = new Signal<number>();
    marks.set(dagId, signal);
    const started = signal.wait();
    day++;
    await triggerRun(engine.pool, engine.dispatcher, engine.dag(dagId), { date: new Date(Date.UTC(2025, 0, day)).toISOString().slice(0, 10) });
    return started;
  };
  return {
    name: `tributary ${backend}${handoverMax > 0 ? '' : ' HANDOVER_MAX=0'}`,
    chain: async () => void (await runOf('chain')),
    fanout: async () => void (await runOf('fanout')),
    addToStart: async () => {
      const sent = performance.now();
      return (await runOf('ping')) - sent;
    },
    close: () => engine.close(),
  };
}
