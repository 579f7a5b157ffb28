/**
 * A handed-over try holds its lease from the COMMIT that claimed it: `first` ends with a 2.5 s
 * after-commit hook (four leases of 600 ms) and hands `second` over; the sweeper, looking every
 * 200 ms, must never find `second`'s lease expired. Body starts are counted in a file outside the
 * database (a body whose attempt loses leaves nothing in Postgres). And the lease set is per
 * attempt: two attempts of one instance in one process, the first to end keeps the other renewed.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import { Leases } from '../../../engine/leases.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { OutageLog } from '../../../engine/outage.ts';
import type { JobKind } from '../../../engine/types.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../../support/engine.ts';

const LEASE_MS = 600;
const HOOK_MS = 2500;

/** Appends `<run> <task> <ms>` to `file` when its body starts; registers an after-commit hook of `hookMs`. */
function countedKind(file: string): JobKind {
  const kind: JobKind<{ hookMs: number }> = {
    name: 'counted',
    options: z.object({ hookMs: z.number().default(0) }).prefault({}),
    async handler(ctx, options) {
      await fs.appendFile(file, `${ctx.runId} ${ctx.taskId} ${Date.now()}\n`);
      if (options.hookMs > 0) ctx.afterCommit(() => new Promise((resolve) => setTimeout(resolve, options.hookMs)));
      return { task: ctx.taskId };
    },
  };
  return kind as JobKind;
}

const slowHook = defineDag({
  id: 'slow_hook',
  tasks: {
    first: { kind: 'counted', options: { hookMs: HOOK_MS } },
    second: { kind: 'counted', upstream: ['first'] },
  },
});

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'handover-lease-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

for (const backend of BACKENDS) {
  describe(`hand-over lease (${backend})`, () => {
    let t: TestEngine | undefined;
    afterAll(async () => {
      await t?.close();
    });

    it('a slow after-commit hook does not let the handed-over try lose its lease: its body runs once', async () => {
      const counter = path.join(dir, `${backend}.txt`);
      t = await startTestEngine({ backend, dags: [slowHook], kinds: [countedKind(counter)], lockDurationMs: LEASE_MS, concurrency: 2 });
      t.engine.startSweeper(200, 100);
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('slow_hook'), { date: '2025-08-01' });
      expect(await t.waitForRun(runId, 20_000)).toBe('success');
      const attempts = await t.database.pool.query<{ task_id: string; attempt: number; state: string }>(
        `SELECT ti.task_id, a.attempt, a.state FROM task_attempts a JOIN task_instances ti ON ti.id = a.task_instance_id
         WHERE ti.run_id = $1 ORDER BY ti.task_id, a.attempt`,
        [runId],
      );
      const secondJob = await t.engine.backend.queue('counted').getJob(`r${runId}-second-m-1-t1`);
      await t.close(); // waits for every running slot: a second body, if any, has started by now
      t = undefined;

      const starts = (await fs.readFile(counter, 'utf8')).trim().split('\n').map((line) => line.split(' '));
      expect(starts.map(([run, task]) => `${run} ${task}`)).toEqual([`${runId} first`, `${runId} second`]);
      // The hook held `second` back for more than four leases: the gap was really there to fall into.
      expect(Number(starts[1][2]) - Number(starts[0][2])).toBeGreaterThanOrEqual(HOOK_MS);
      expect(attempts.rows).toEqual([
        { task_id: 'first', attempt: 1, state: 'success' },
        { task_id: 'second', attempt: 1, state: 'success' },
      ]);
      expect(secondJob).toBeUndefined(); // handed over, never re-delivered by the sweeper
    }, 30_000);
  });
}

describe('lease set', () => {
  let t: TestEngine;
  let leases: Leases | undefined;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'postgres', dags: [slowHook], kinds: [countedKind(path.join(dir, 'unused.txt'))], workers: false });
  });
  afterAll(async () => {
    leases?.stop();
    await t?.close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('holds one entry per attempt: ending one attempt of an instance keeps renewing the other', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('slow_hook'), { date: '2025-08-02' });
    // Two instances each run by two attempts in this process (after an outage: the old one still
    // ending, the one that took the try over); `first` ends its old attempt first, `second` its new one.
    const { rows } = await t.database.pool.query<{ id: number; task_id: string }>(
      `UPDATE task_instances SET state = 'running', worker = 'w-leases', attempt = 2,
         lease_until = clock_timestamp() + make_interval(secs => $2::float8 / 1000)
       WHERE run_id = $1 RETURNING id, task_id`,
      [runId, LEASE_MS],
    );
    const id = Object.fromEntries(rows.map((r) => [r.task_id, r.id]));
    const live = async () =>
      (await t.database.pool.query<{ task_id: string; live: boolean }>(
        'SELECT task_id, lease_until > clock_timestamp() AS live FROM task_instances WHERE run_id = $1 ORDER BY task_id', [runId],
      )).rows;

    leases = new Leases(t.database.pool, 'w-leases', LEASE_MS, new OutageLog(pino({ level: 'silent' })));
    for (const task of ['first', 'second']) {
      leases.add(id[task], 1);
      leases.add(id[task], 2);
    }
    leases.delete(id.first, 1);
    leases.delete(id.second, 2);
    await sleep(3 * LEASE_MS);
    expect(await live()).toEqual([{ task_id: 'first', live: true }, { task_id: 'second', live: true }]);

    leases.delete(id.first, 2);
    leases.delete(id.second, 1);
    await sleep(2 * LEASE_MS);
    expect(await live()).toEqual([{ task_id: 'first', live: false }, { task_id: 'second', live: false }]);
  }, 15_000);
});
