/**
 * Issue 18, through the real engine: DAGs paused at creation (the scheduler creates nothing, a
 * manual trigger starts at once, an operator's pause holds it and the trigger says why), triggers
 * that never do nothing in silence (a new manual run per trigger without a date; an existing date
 * with the same params says so, with other params RUN_EXISTS naming both; `clearRun`), why a queued
 * run waits (maxActiveRuns behind a waiting sensor), and the run outcome rule (runFailsOn).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../../db/client.ts';
import { defineDag } from '../../../engine/dag.ts';
import { clearRun, triggerRun, unpauseDag } from '../../../engine/operations.ts';
import { createRun, setPaused } from '../../../engine/runs.ts';
import { scheduleDag } from '../../../engine/scheduler.ts';
import { startQueuedRuns } from '../../../engine/transitions.ts';
import { runWaitReason } from '../../../engine/wait-reason.ts';
import { runDetail } from '../../../dashboard/queries.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const daily = { cron: '0 6 * * *', timezone: 'UTC' };
const fresh = defineDag({ id: 'fresh', schedule: daily, params: { file: 'a.csv' }, tasks: { a: { kind: 'effect' }, b: { kind: 'effect', upstream: ['a'] } } });
const optedOut = defineDag({ id: 'opted_out', schedule: daily, pausedAtCreation: false, tasks: { a: { kind: 'effect' } } });
const yearly = defineDag({ id: 'yearly', schedule: daily, catchup: true, startDate: '2025-01-01', tasks: { a: { kind: 'effect' } } });
/** A check that fails under a report that runs anyway (all_done): the leaf succeeds. */
const outcome = (id: string, runFailsOn: 'leaves' | 'any_failed') => defineDag({
  id, runFailsOn, onFailure: () => undefined,
  tasks: {
    check: { kind: 'flaky', options: { permanent: true } },
    report: { kind: 'effect', upstream: ['check'], triggerRule: 'all_done' },
  },
});

let t: TestEngine;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-gate-'));
  const gate = defineDag({
    id: 'gate', maxActiveRuns: 1,
    tasks: { wait: { kind: 'sensor', options: { dir, filePattern: 'part{n}_{yyyymmdd}.csv', minFiles: 10, pokeIntervalMs: 60_000, timeoutMs: 3_600_000 } } },
  });
  t = await startTestEngine({
    backend: 'redis', pausedAtCreation: true,
    dags: [fresh, optedOut, yearly, gate, outcome('by_leaves', 'leaves'), outcome('any_failed', 'any_failed')],
  });
});

afterAll(async () => {
  await t?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const dagRow = async (dagId: string) =>
  (await t.database.pool.query<{ paused: boolean; paused_by: string | null }>('SELECT paused, paused_by FROM dags WHERE dag_id = $1', [dagId])).rows[0];
const runRow = async (runId: number) =>
  (await t.database.pool.query<{ state: string; logical_date: Date; interval_end: Date; run_type: string }>(
    'SELECT state, logical_date, interval_end, run_type FROM dag_runs WHERE id = $1', [runId])).rows[0];

describe('paused at creation', () => {
  it('registers a new DAG paused by creation unless it opts out; registering again keeps the flag', async () => {
    expect(await dagRow('fresh')).toEqual({ paused: true, paused_by: 'creation' });
    expect(await dagRow('opted_out')).toEqual({ paused: false, paused_by: null });
    await setPaused(t.engine.pool, 'opted_out', true);
    await t.engine.register();
    expect(await dagRow('opted_out')).toEqual({ paused: true, paused_by: 'operator' });
    expect(await dagRow('fresh')).toEqual({ paused: true, paused_by: 'creation' });
    await setPaused(t.engine.pool, 'opted_out', false);
  });

  it('the scheduler creates no run of a DAG paused at creation; one that opted out is scheduled', async () => {
    const now = new Date('2025-05-13T07:00:00Z');
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, t.dags.get('fresh')!, now)).toBe(0);
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, t.dags.get('opted_out')!, now)).toBe(1);
  });

  it('a trigger without a date starts a new manual run at once, every time: logical date now, its interval ending there', async () => {
    const dag = t.dags.get('fresh')!;
    const before = Date.now();
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const run = await triggerRun(t.engine.pool, t.engine.dispatcher, dag); // maxActiveRuns 1: one after the other
      expect(run).toMatchObject({ created: true, started: true, state: 'running', waitReason: null });
      const row = await runRow(run.runId);
      expect(row.run_type).toBe('manual');
      expect(row.logical_date).toEqual(run.logicalDate);
      expect(row.interval_end).toEqual(row.logical_date);
      expect(Math.abs(row.logical_date.getTime() - before)).toBeLessThan(60_000);
      expect(await t.waitForRun(run.runId)).toBe('success');
      runs.push(run);
    }
    expect(runs[1].runId).not.toBe(runs[0].runId);
    expect(runs[1].logicalDate.getTime()).toBeGreaterThan(runs[0].logicalDate.getTime());
  });

  it('holds back the scheduled runs of a DAG paused at creation, and says why', async () => {
    const dag = t.dags.get('fresh')!;
    const logicalDate = new Date('2025-05-01T06:00:00Z');
    const { runId } = await withTransaction(t.engine.pool, (c) =>
      createRun(c, dag, { logicalDate, intervalEnd: new Date('2025-05-02T06:00:00Z'), runType: 'scheduled' }));
    await withTransaction(t.engine.pool, (c) => startQueuedRuns(c, dag.id));
    expect((await runRow(runId)).state).toBe('queued');
    expect(await runWaitReason(t.engine.pool, runId)).toBe('dag fresh is new and its schedule is off: its scheduled runs wait (trib unpause fresh)');
    await t.database.pool.query('DELETE FROM dag_runs WHERE id = $1', [runId]);
  });

  it("an operator's pause holds a manual trigger; the trigger and the run say so; unpause starts it", async () => {
    const dag = t.dags.get('fresh')!;
    await setPaused(t.engine.pool, 'fresh', true);
    const run = await triggerRun(t.engine.pool, t.engine.dispatcher, dag);
    const reason = 'dag fresh was paused by an operator (trib unpause fresh)';
    expect(run).toMatchObject({ created: true, started: false, state: 'queued', waitReason: reason });
    expect((await runDetail(t.engine.pool, run.runId, t.dags)).waitReason).toBe(reason);
    const unpaused = await unpauseDag(t.engine.pool, t.engine.dispatcher, dag);
    expect(unpaused.was).toBe('operator');
    expect(await t.waitForRun(run.runId)).toBe('success');
    expect((await runDetail(t.engine.pool, run.runId, t.dags)).waitReason).toBeNull();
  });

  it('unpause says how many runs the next scheduler pass creates, and that pass creates exactly them', async () => {
    const now = new Date('2025-06-10T12:00:00Z');
    const yearLater = await unpauseDag(t.engine.pool, t.engine.dispatcher, t.dags.get('yearly')!, new Date('2026-01-01T00:00:00Z'));
    expect(yearLater.was).toBe('creation');
    expect(yearLater.nextPass).toMatchObject({ at: new Date('2026-01-01T06:00:00Z'), runs: 366 });
    expect(yearLater.message).toBe(
      'dag yearly unpaused: its schedule 0 6 * * * UTC creates runs from now on; the scheduler\'s next pass (2026-01-01 06:00 UTC) creates 366 runs '
      + '(catchup: one per interval since 2025-01-01 06:00 UTC; `trib pause yearly` before then stops them)');
    await setPaused(t.engine.pool, 'yearly', true);

    const latestOnly = await unpauseDag(t.engine.pool, t.engine.dispatcher, t.dags.get('opted_out')!, now);
    expect(latestOnly.was).toBeNull();
    expect(latestOnly.message).toMatch(/^dag opted_out was not paused: .* next pass \(2025-06-11 06:00 UTC\) creates 1 run \(catchup off: only the latest interval\)$/);
    expect(await scheduleDag(t.engine.pool, t.engine.dispatcher, t.dags.get('opted_out')!, latestOnly.nextPass!.at)).toBe(latestOnly.nextPass!.runs);
  });
});

describe('a trigger with a date', () => {
  it('of a run that exists with the same params changes nothing and says its state; other params are RUN_EXISTS naming both', async () => {
    const dag = t.dags.get('fresh')!;
    const made = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-03-02', params: { file: 'b.csv' } });
    expect(made).toMatchObject({ created: true, started: true });
    expect(await t.waitForRun(made.runId)).toBe('success');
    const again = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-03-02', params: { file: 'b.csv' } });
    expect(again).toMatchObject({ runId: made.runId, created: false, started: false, state: 'success', waitReason: null });
    expect(again.endedAt).toBeInstanceOf(Date);
    await expect(triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-03-02' })).rejects.toMatchObject({
      code: 'RUN_EXISTS',
      message: `run ${made.runId} of "fresh" for 2025-03-02 already exists with params {"file":"b.csv"}, not these: {"file":"a.csv"}. `
        + `\`trib run clear ${made.runId}\` runs it again with its own params; a trigger without a date makes a new manual run with these`,
    });
  });

  it('clearRun runs every task of the run again, with its own params', async () => {
    const dag = t.dags.get('fresh')!;
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-03-02', params: { file: 'b.csv' } });
    expect(await clearRun(t.engine.pool, t.engine.dispatcher, dag, runId)).toEqual(['a', 'b']);
    expect(await t.waitForRun(runId)).toBe('success');
    const { rows } = await t.database.pool.query<{ task_id: string; n: number }>(
      'SELECT task_id, count(*)::int AS n FROM effects WHERE run_id = $1 GROUP BY 1 ORDER BY 1', [String(runId)]);
    expect(rows).toEqual([{ task_id: 'a', n: 2 }, { task_id: 'b', n: 2 }]);
  });
});

describe('why a queued run waits', () => {
  it('names the run holding the maxActiveRuns slot and what its sensor waits for', async () => {
    const dag = t.dags.get('gate')!;
    for (const n of [1, 2, 3]) await fs.writeFile(path.join(dir, `part${n}_20250513.csv`), 'x\n');
    const holder = await triggerRun(t.engine.pool, t.engine.dispatcher, dag, { date: '2025-05-13' });
    expect(holder.started).toBe(true);
    const deadline = Date.now() + 15_000;
    while (!(await runDetail(t.engine.pool, holder.runId, t.dags)).tasks[0].waiting && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const behind = await triggerRun(t.engine.pool, t.engine.dispatcher, dag);
    expect(behind.started).toBe(false);
    expect(behind.waitReason).toMatch(new RegExp(
      `^waiting for run ${holder.runId} \\(maxActiveRuns 1\\), whose task wait is waiting for 10 files matching part\\{n\\}_20250513\\.csv in ${dir} `
      + '\\(3 found, next check in \\d+ s, deadline (\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d UTC\\)$'));
    expect((await runDetail(t.engine.pool, behind.runId, t.dags)).waitReason).toBe(await runWaitReason(t.engine.pool, behind.runId));
  });
});

describe('the run outcome rule (runFailsOn)', () => {
  it("'leaves': a failed check under an all_done report leaves the run success; 'any_failed' fails it and records onFailure", async () => {
    const ends: Record<string, string> = {};
    for (const id of ['by_leaves', 'any_failed']) {
      const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get(id)!, { date: '2025-05-13' });
      ends[id] = await t.waitForRun(runId);
      expect(await t.taskStates(runId)).toEqual({ check: 'failed', report: 'success' });
      const { rows } = await t.database.pool.query<{ event: string }>("SELECT event FROM callback_events WHERE run_id = $1 AND task_id = ''", [runId]);
      expect(rows.map((r) => r.event)).toEqual(id === 'any_failed' ? ['failure'] : []);
    }
    expect(ends).toEqual({ by_leaves: 'success', any_failed: 'failed' });
  });
});
