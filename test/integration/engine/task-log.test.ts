/**
 * A task's log as `trib logs`, the API and the run page read it (engine/sql/task-log.sql): the
 * lines stored in task_logs, and the engine's `try started` / `try succeeded`, derived from the
 * try and attempt rows instead of stored. Each derived line is checked against what the engine
 * did — a retry's two tries, an attempt taken over after its lease expired — and pages of one line
 * against the whole log, with stored lines tied to a derived one to the millisecond and stored
 * lines with microseconds (a row written by SQL's now()).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { taskLogs, type LogLine } from '../../../dashboard/queries.ts';
import { logTail } from '../../../dashboard/ui-queries.ts';
import { defineDag } from '../../../engine/dag.ts';
import { TributaryError } from '../../../engine/errors.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { claimAndBegin, commitTry, endTry } from '../../../engine/transitions.ts';
import type { JobKind } from '../../../engine/types.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

/** Logs one line, then fails its first try and succeeds on its second. */
const talksThenFails: JobKind = {
  name: 'talks_then_fails',
  options: z.object({}).prefault({}),
  async handler(ctx) {
    ctx.log.info({ rows: 7 }, `working on try ${ctx.tryNumber}`);
    if (ctx.tryNumber === 1) throw new TributaryError('TASK_FAILED', 'planted failure');
    return { ok: true };
  },
};

const retried = defineDag({ id: 'retried', tasks: { work: { kind: 'talks_then_fails', retries: 1, retryDelayMs: 10 } } });
const single = defineDag({ id: 'single', maxActiveRuns: 10, tasks: { work: { kind: 'noop' } } });

const brief = (lines: LogLine[]) => lines.map((l) => [l.tryNumber, l.fields?.attempt ?? null, l.level, l.message]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a retried task', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'postgres', dags: [retried], kinds: [talksThenFails] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows each try started, its own lines, the failure, and the success once, in order', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('retried'), { date: '2025-05-13' });
    expect(await t.waitForRun(runId)).toBe('success');
    const lines = await taskLogs(t.database.pool, runId, 'work');
    expect(brief(lines)).toEqual([
      [1, 1, 'info', 'try started'],
      [1, 1, 'info', 'working on try 1'],
      [1, 1, 'error', 'TASK_FAILED: planted failure'],
      [2, 1, 'info', 'try started'],
      [2, 1, 'info', 'working on try 2'],
      [2, 1, 'info', 'try succeeded'],
    ]);
    // The derived lines carry the try's context as stored lines do, and their times are the rows'.
    const { rows: tries } = await t.database.pool.query<{ try_number: number; started: Date; ended: Date }>(
      `SELECT t.try_number, date_trunc('milliseconds', t.started_at) AS started, date_trunc('milliseconds', a.ended_at) AS ended
       FROM task_tries t JOIN task_instances ti ON ti.id = t.task_instance_id
       JOIN task_attempts a ON a.task_instance_id = t.task_instance_id AND a.try_number = t.try_number
       WHERE ti.run_id = $1 ORDER BY t.try_number`, [runId]);
    expect(lines.filter((l) => l.message === 'try started').map((l) => l.at)).toEqual(tries.map((r) => r.started));
    expect(lines.at(-1)!.at).toEqual(tries[1].ended);
    expect(lines[0].fields).toEqual({ dag_id: 'retried', run_id: runId, task_id: 'work', map_index: -1, try: 1, attempt: 1 });
    const stored = await t.database.pool.query('SELECT message FROM task_logs WHERE message IN ($1, $2)', ['try started', 'try succeeded']);
    expect(stored.rowCount).toBe(0);
  });

  it('pages one line at a time through lines tied to the millisecond and lines with microseconds, each line once', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('retried'), { date: '2025-05-14' });
    expect(await t.waitForRun(runId)).toBe('success');
    // Three lines at the first try's start to the millisecond (a tie with the derived line), two 0.5 ms after it.
    await t.database.pool.query(
      `INSERT INTO task_logs (task_instance_id, try_number, level, message, at)
       SELECT t.task_instance_id, 1, 'info', 'planted ' || g, CASE WHEN g <= 3 THEN date_trunc('milliseconds', t.started_at) ELSE t.started_at + interval '500 microseconds' END
       FROM task_tries t JOIN task_instances ti ON ti.id = t.task_instance_id, generate_series(1, 5) g
       WHERE ti.run_id = $1 AND t.try_number = 1`, [runId]);
    const whole = await taskLogs(t.database.pool, runId, 'work');
    expect(whole).toHaveLength(11);
    expect(whole[0].message).toBe('try started'); // rank: the derived start before lines at its millisecond
    const paged: string[] = [];
    let before: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await logTail(t.database.pool, runId, 'work', { limit: 1, before });
      expect(page.lines).toHaveLength(1);
      paged.unshift(page.lines[0].message);
      if (page.olderBefore === null) break;
      before = page.olderBefore;
    }
    expect(paged).toEqual(whole.map((l) => l.message));
    const found = await logTail(t.database.pool, runId, 'work', { limit: 100, search: 'TRY SUCC' });
    expect(found.lines.map((l) => l.message)).toEqual(['try succeeded']);
    await expect(logTail(t.database.pool, runId, 'work', { limit: 1, before: '12-2' })).rejects.toThrow(/log cursor "12-2" must look like/);
  });
});

describe('an attempt taken over after its lease expired', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ backend: 'postgres', dags: [single], workers: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows the try started by each attempt, and its success once, from the attempt that ended it', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.engine.dag('single'), { date: '2025-03-01' });
    const { rows: [{ id }] } = await t.database.pool.query<{ id: string }>('SELECT id FROM task_instances WHERE run_id = $1', [runId]);
    const a = await t.database.pool.connect();
    const b = await t.database.pool.connect();
    try {
      expect(await claimAndBegin(a, Number(id), 1, 'w-a', 300)).toMatchObject([{ attempt: 1 }]);
      await a.query('ROLLBACK');
      await sleep(500);
      const [current] = await claimAndBegin(b, Number(id), 1, 'w-b', 60_000);
      expect(current).toMatchObject({ attempt: 2, lost_attempts: 1 });
      expect(await endTry(b, current!, { state: 'success', result: { ok: true }, error: null, code: null, lines: [] })).not.toBeNull();
      await commitTry(b);
    } finally {
      a.release(true);
      b.release(true);
    }
    expect(brief(await taskLogs(t.database.pool, runId, 'work'))).toEqual([
      [1, 1, 'info', 'try started'],
      [1, 2, 'info', 'try started'],
      [1, 2, 'info', 'try succeeded'],
    ]);
  });
});
