/**
 * The extract task through the real engine (redis backend) against the W4 fake API: 500s, a 429
 * with Retry-After and a page slower than the request timeout are retried inside the try to
 * success; a page malformed on every try fails the task after its retries with PAGE_MALFORMED and
 * leaves the watermark and the table as they were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import type { TributaryKinds } from '../../../engine/kind-options.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { startFakeTransactionsApi, type FakeApi } from '../../../samples/w4-fake-api.ts';
import shipped from '../../../schedules/transactions_api.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';
import { storedRows } from './w4-expected.ts';

const TIMEOUT_MS = 300;

function extractDag() {
  const options = shipped.tasks.extract.options as TributaryKinds['extract'];
  return defineDag({
    id: 'w4_extract',
    params: { apiUrl: 'set per run' },
    tasks: {
      extract: {
        kind: 'extract',
        retries: 2,
        retryDelayMs: 50,
        options: { ...options, request: { timeoutMs: TIMEOUT_MS, retries: 4, backoffMs: 20, maxBackoffMs: 100 } },
      },
    },
  });
}

let t: TestEngine;
let api: FakeApi;
let day = 10;

beforeAll(async () => {
  [t, api] = await Promise.all([startTestEngine({ backend: 'redis', dags: [extractDag()] }), startFakeTransactionsApi({ seed: 11, records: 120 })]);
});
afterAll(async () => {
  await api?.close();
  await t?.close();
});

interface TaskRow { state: string; result: { retries: number; requests: number; waited_ms: number; rows_loaded: number } | null; error_code: string | null; id: number }

/** Triggers the next day's run, waits for it, returns the run state and its extract task row. */
async function run(): Promise<{ state: string; task: TaskRow; runId: number }> {
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('w4_extract')!, {
    date: `2025-05-${day++}`, params: { apiUrl: `${api.url}/transactions` },
  });
  const state = await t.waitForRun(runId);
  const { rows } = await t.database.pool.query<TaskRow>(`SELECT id, state, result, error_code FROM task_instances WHERE run_id = $1 AND task_id = 'extract'`, [runId]);
  return { state, task: rows[0], runId };
}

async function logs(taskInstanceId: number) {
  const { rows } = await t.database.pool.query<{ message: string; fields: Record<string, unknown> }>(
    `SELECT message, fields FROM task_logs WHERE task_instance_id = $1 AND message LIKE 'extract: request failed%' ORDER BY id`,
    [taskInstanceId],
  );
  return rows.map((r) => r.fields);
}

const watermark = async () => (await t.database.pool.query(`SELECT value FROM extract_watermarks WHERE dag_id = 'w4_extract'`)).rows[0]?.value as string | undefined;

describe('extract through the engine', () => {
  it('retries 500s inside the try and succeeds', async () => {
    const from = api.control.requests().length;
    api.control.failNext(3);
    const { state, task } = await run();
    expect(state).toBe('success');
    expect(api.control.requests().slice(from, from + 4).map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(task.result).toMatchObject({ retries: 3, rows_loaded: api.control.truth().total_records });
    expect((await logs(task.id)).map((f) => f.reason)).toEqual(Array(3).fill('HTTP 500 {"error":"injected failure"}'));
  });

  it('waits out a 429 for at least its Retry-After before asking again', async () => {
    const from = api.control.requests().length;
    api.control.rateLimitNext(1, 1);
    const { state, task } = await run();
    expect(state).toBe('success');
    const [limited, next] = api.control.requests().slice(from);
    expect([limited.status, next.status]).toEqual([429, 200]);
    expect(next.at - limited.at).toBeGreaterThanOrEqual(1000);
    expect(await logs(task.id)).toEqual([expect.objectContaining({ attempt: 1, wait_ms: 1000, retry_after: true })]);
    expect(task.result).toMatchObject({ retries: 1, waited_ms: 1000 });
  });

  it('abandons a page slower than the request timeout and asks again', async () => {
    api.control.delay(TIMEOUT_MS * 5, 1);
    const { state, task } = await run();
    expect(state).toBe('success');
    expect(task.result).toMatchObject({ retries: 1 });
    expect((await logs(task.id)).map((f) => f.reason)).toEqual([`no complete answer within ${TIMEOUT_MS} ms`]);
  });

  it('a page malformed on each of the 3 tries fails the task with PAGE_MALFORMED and commits nothing', async () => {
    api.control.advance({ modify: 4, add: 2 });
    const rows = await storedRows(t.database.pool);
    const mark = await watermark();
    api.control.malformedPage(1, 'invalid_json', 3);
    const { state, task } = await run();
    expect(state).toBe('failed');
    expect(task).toMatchObject({ state: 'failed', error_code: 'PAGE_MALFORMED' });
    const tries = await t.database.pool.query('SELECT count(*)::int AS n FROM task_tries WHERE task_instance_id = $1', [task.id]);
    expect(tries.rows[0].n).toBe(3); // retryable: the task's two retries are used, each served the malformed page
    expect(await watermark()).toBe(mark);
    expect(await storedRows(t.database.pool)).toEqual(rows);
    api.control.reset();
    const after = await run();
    expect(after.state).toBe('success');
    expect((await t.database.pool.query('SELECT count(*)::int AS n FROM audit.card_transactions_history')).rows[0].n).toBe(4);
  });
});
