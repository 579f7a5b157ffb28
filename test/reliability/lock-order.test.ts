/**
 * One lock order (run row, then task rows) everywhere: `clear` and `mark` raced against tasks
 * finishing, 200 times, never deadlock — counted by Postgres itself (pg_stat_database.deadlocks),
 * not by our own bookkeeping — and every run still ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../engine/dag.ts';
import { clearTasks, markTask, triggerRun } from '../../engine/operations.ts';
import type { JobKind } from '../../engine/types.ts';
import { z } from 'zod';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const ROUNDS = 200;
const fanout: JobKind<Record<string, never>> = {
  name: 'fanout',
  options: z.object({}).prefault({}),
  handler: async () => [1, 2, 3, 4],
};
const race = defineDag({
  id: 'race',
  maxActiveRuns: 8,
  tasks: {
    x: { kind: 'effect' },
    list: { kind: 'fanout', upstream: ['x'] },
    each: { kind: 'effect', upstream: ['list'], mapOver: { task: 'list' } },
    y: { kind: 'effect', upstream: ['each'] },
  },
});

describe('clear and mark racing task ends', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: [race], kinds: [fanout as JobKind], concurrency: 8 });
  });
  afterAll(async () => {
    await t?.close();
  });

  const deadlocks = async () => (await t.database.pool.query<{ n: number }>(
    'SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n;

  it(`${ROUNDS} races, no deadlock, every run ends`, async () => {
    const before = await deadlocks();
    const dag = t.dags.get('race')!;
    const runs: number[] = [];
    const errors: string[] = [];
    for (let i = 0; i < ROUNDS; i += 8) {
      await Promise.all(Array.from({ length: Math.min(8, ROUNDS - i) }, async (_, k) => {
        const n = i + k;
        const day = new Date(Date.UTC(2024, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);
        const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: day });
        runs.push(runId);
        await new Promise((r) => setTimeout(r, (n * 7) % 40));
        const op = n % 3 === 0 ? clearTasks(t.engine.pool, t.engine.dispatcher, dag, runId, 'x', true)
          : markTask(t.engine.pool, t.engine.dispatcher, dag, runId, n % 3 === 1 ? 'y' : 'list', 'success');
        await op.catch((err: Error & { code?: string }) => errors.push(`${err.code}: ${err.message}`));
        await t.waitForRun(runId, 60_000);
      }));
    }
    await new Promise((r) => setTimeout(r, 1500)); // backends report their stats within a second
    expect(errors).toEqual([]);
    expect(await deadlocks()).toBe(before);
    const ended = await t.database.pool.query(`SELECT count(*)::int AS n FROM dag_runs WHERE state IN ('success', 'failed')`);
    expect(ended.rows[0].n).toBe(ROUNDS);
    const infra = await t.database.pool.query(`SELECT count(*)::int AS n FROM task_attempts WHERE error_code IN ('40P01', '40001')`);
    expect(infra.rows[0].n).toBe(0);
  }, 180_000);
});
