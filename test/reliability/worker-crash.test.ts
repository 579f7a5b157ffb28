/**
 * A worker SIGKILLed mid-task: its open transaction dies with it (no effect), BullMQ's stalled-job
 * check re-delivers the try to another worker, and the task completes exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import type { JobKind } from '../../engine/types.ts';
import { redisUrl } from '../support/db.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../support/engine.ts';
import { crashDag, slowEffect } from './crash-dag.ts';

function startWorker(t: TestEngine, backend: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'worker-child.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: t.database.url,
      REDIS_URL: redisUrl(),
      QUEUE_BACKEND: backend,
      QUEUE_PREFIX: t.engine.options.queuePrefix,
      JOB_LOCK_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk) => String(chunk).includes('worker ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(BACKENDS)('worker killed mid-task (%s)', (backend) => {
  let t: TestEngine;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    t = await startTestEngine({ backend, dags: [crashDag], kinds: [slowEffect as JobKind], workers: false });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await t?.close();
  });

  it('recovers the try and completes it once', async () => {
    const first = await startWorker(t, backend);
    children.push(first);
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('crash')!, { day: '2025-05-13' });
    const state = async () =>
      (await t.database.pool.query(`SELECT state FROM task_instances WHERE run_id = $1 AND task_id = 'slow'`, [runId])).rows[0]?.state;
    await waitFor(async () => (await state()) === 'running', 20_000, 'the task to start');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    children.push(await startWorker(t, backend));
    expect(await t.waitForRun(runId, 60_000)).toBe('success');
    const effects = await t.database.pool.query('SELECT pid FROM crash_effects WHERE run_id = $1', [runId]);
    expect(effects.rows).toHaveLength(1);
    expect(effects.rows[0].pid).not.toBe(first.pid);
    const result = await t.database.pool.query(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'slow'`, [runId]);
    expect(result.rows[0].result.pid).toBe(effects.rows[0].pid);
  });
});
