/**
 * LOG_LEVEL reaches task logs on a real engine: with a debug process logger, a handler's debug
 * line is in the process output (with the try's bindings) and in the stored task_logs rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { z } from 'zod';
import { compileDag, defineDag } from '../../../engine/dag.ts';
import { Engine } from '../../../engine/engine.ts';
import { triggerRun } from '../../../engine/operations.ts';
import type { JobKind } from '../../../engine/types.ts';
import { builtinKinds } from '../../../jobs/index.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';

const chatty: JobKind = {
  name: 'chatty',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    ctx.log.debug({ rows: 3 }, 'debug detail from the handler');
    return { ok: true };
  },
};

describe('task log level', () => {
  let database: TestDatabase;
  let engine: Engine;
  const output: { level: number; msg: string; task_id?: string; try?: number }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const kinds = builtinKinds();
    kinds.set(chatty.name, chatty);
    const dag = compileDag(defineDag({ id: 'chatty_dag', tasks: { talk: { kind: 'chatty' } } }), 'test/chatty_dag.ts', kinds);
    engine = new Engine({
      databaseUrl: database.url, queueBackend: 'redis', redisUrl: redisUrl(), queuePrefix: uniquePrefix('tq'),
      dags: new Map([[dag.id, dag]]), kinds,
      log: pino({ level: 'debug' }, { write: (line: string) => void output.push(JSON.parse(line)) }),
    });
    await engine.register();
    engine.startWorkers({ queues: ['chatty'], concurrency: () => 1, lockDurationMs: 5_000 });
  });
  afterAll(async () => {
    await engine?.close();
    await database?.drop();
  });

  it('a debug line of the handler is stored with the try and printed by the process', async () => {
    const { runId } = await triggerRun(engine.pool, engine.dispatcher, engine.dag('chatty_dag'), { date: '2025-05-13' });
    const deadline = Date.now() + 30_000;
    let state = '';
    while (state !== 'success' && Date.now() < deadline) {
      state = (await database.pool.query<{ state: string }>('SELECT state FROM dag_runs WHERE id = $1', [runId])).rows[0].state;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(state).toBe('success');
    const { rows } = await database.pool.query<{ level: string; message: string; rows: number | null }>(
      `SELECT l.level, l.message, (l.fields->>'rows')::int AS rows FROM task_logs l JOIN task_instances ti ON ti.id = l.task_instance_id
       WHERE ti.run_id = $1 AND ti.task_id = 'talk' AND l.level = 'debug'`,
      [runId],
    );
    expect(rows).toEqual([{ level: 'debug', message: 'debug detail from the handler', rows: 3 }]);
    const printed = output.filter((l) => l.msg === 'debug detail from the handler');
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatchObject({ level: 20, task_id: 'talk', try: 1 });
  });
});
