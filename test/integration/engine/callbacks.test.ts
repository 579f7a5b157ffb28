/**
 * Failure/success/retry callbacks and deadlines through the real engine, delivered to a webhook
 * receiver on loopback by two schedulers at once: each event reaches the receiver exactly once,
 * after COMMIT, a failing callback never changes the task, and webhook secrets stay out of logs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackDeliverer } from '../../../engine/callback-delivery.ts';
import type { CallbackEvent } from '../../../engine/callbacks.ts';
import { compileDag, defineDag } from '../../../engine/dag.ts';
import { Engine } from '../../../engine/engine.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { redisUrl } from '../../support/db.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

interface Received {
  body: CallbackEvent;
  auth: string | undefined;
  status: number;
}

/** Records every POST; answers 500 to the first `failFirst` POSTs of an event id, 204 after. */
async function startReceiver(failFirst: (e: CallbackEvent) => number) {
  const received: Received[] = [];
  const seen = new Map<number, number>();
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as CallbackEvent;
      const n = (seen.get(body.id) ?? 0) + 1;
      seen.set(body.id, n);
      const status = n <= failFirst(body) ? 500 : 204;
      received.push({ body, auth: req.headers.authorization, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const YESTERDAY = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const TOKEN = 'Bearer s3cret-callback-token';

describe('callbacks and deadlines', () => {
  let t: TestEngine;
  let second: Engine;
  let racer: CallbackDeliverer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const functionCalls: CallbackEvent[] = [];

  beforeAll(async () => {
    // The run-level failure webhook answers 500 once: delivered on its retry.
    receiver = await startReceiver((e) => (e.event === 'failure' && e.task === null ? 1 : 0));
    process.env.TRIB_TEST_HOOK_URL = receiver.url;
    process.env.TRIB_TEST_HOOK_TOKEN = TOKEN;
    const hook = { webhook: { urlEnv: 'TRIB_TEST_HOOK_URL', headersFromEnv: { Authorization: 'TRIB_TEST_HOOK_TOKEN' }, retryDelayMs: 50 } };
    const dags = [
      defineDag({
        id: 'cb_fail',
        onFailure: hook,
        onSuccess: hook, // never fires: the run fails
        deadline: { time: '00:00', timezone: 'UTC' }, // the run for D must succeed by D 00:00: missed
        onDeadlineMissed: hook,
        tasks: {
          flaky_then_ok: {
            kind: 'flaky',
            options: { succeedOnTry: 2 },
            retries: 1,
            retryDelayMs: 50,
            onRetry: hook,
            onSuccess: [(e) => void functionCalls.push(e), () => { throw new Error('planted callback failure'); }],
          },
          broken: { kind: 'flaky', options: { permanent: true }, upstream: ['flaky_then_ok'], onFailure: [hook, { log: { level: 'error' } }] },
        },
      }),
      defineDag({
        id: 'cb_ok',
        onSuccess: hook,
        deadline: { time: '09:00', timezone: 'Europe/London', dayOffset: 3 }, // not due yet
        onDeadlineMissed: hook,
        tasks: { only: { kind: 'effect' } },
      }),
    ];
    t = await startTestEngine({ backend: 'redis', dags });
    second = new Engine({
      databaseUrl: t.database.url, queueBackend: 'redis', redisUrl: redisUrl(), queuePrefix: t.engine.options.queuePrefix,
      dags: t.dags, kinds: t.kinds, log: pino({ level: 'silent' }), dashboardUrl: 'http://dash.test', callbackPollMs: 100,
    });
    // Two schedulers, each with its callback deliverer, on the same database, plus a third
    // deliverer polling every 5 ms: three processes race for every event.
    await t.engine.startScheduler();
    await second.startScheduler();
    racer = new CallbackDeliverer({ pool: t.engine.pool, dags: t.dags, log: pino({ level: 'silent' }), pollMs: 5 });
    racer.start();
  }, 60_000);

  afterAll(async () => {
    await racer?.stop();
    await second?.close();
    await t?.close();
    await receiver?.close();
    delete process.env.TRIB_TEST_HOOK_URL;
    delete process.env.TRIB_TEST_HOOK_TOKEN;
  });

  const delivered = () => receiver.received.filter((r) => r.status === 204);

  async function until(what: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(receiver.received.map((r) => [r.body.event, r.body.task, r.status]))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('fires each event once, after COMMIT, with two schedulers delivering', async () => {
    const fail = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('cb_fail')!, { date: YESTERDAY });
    const ok = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('cb_ok')!, { date: YESTERDAY });
    expect(await t.waitForRun(fail.runId)).toBe('failed');
    expect(await t.waitForRun(ok.runId)).toBe('success');
    // Expected by the DAGs: retry of try 1, broken's failure, the run's failure, its deadline, cb_ok's success.
    await until(() => delivered().length >= 5);
    await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show up

    const got = delivered().map((r) => `${r.body.dag}/${r.body.event}/${r.body.task ?? 'run'}/${r.body.tryNumber ?? '-'}`).sort();
    expect(got).toEqual([
      'cb_fail/deadline_missed/run/-',
      'cb_fail/failure/broken/1',
      'cb_fail/failure/run/-',
      'cb_fail/retry/flaky_then_ok/1',
      'cb_ok/success/run/-',
    ]);
    expect(new Set(delivered().map((r) => r.body.id)).size).toBe(5);
    // The run-level failure was answered 500 once, then retried: two POSTs of one event.
    const runFailure = receiver.received.filter((r) => r.body.event === 'failure' && r.body.task === null);
    expect(runFailure.map((r) => r.status)).toEqual([500, 204]);
    expect(receiver.received.every((r) => r.auth === TOKEN)).toBe(true);

    const broken = delivered().find((r) => r.body.task === 'broken')!.body;
    expect(broken).toMatchObject({ run: fail.runId, state: 'failed', logicalDate: `${YESTERDAY}T00:00:00.000Z` });
    expect(broken.error).toMatch(/^OPTIONS_INVALID: planted failure on try 1/);
    expect(broken.link === `http://dash.test/runs/${fail.runId}` || broken.link === null).toBe(true);

    // The function callbacks ran once; one of them threw, yet the task succeeded.
    expect(functionCalls.map((e) => [e.task, e.event, e.tryNumber])).toEqual([['flaky_then_ok', 'success', 2]]);
    const states = await t.taskStates(fail.runId);
    expect(states).toEqual({ broken: 'failed', flaky_then_ok: 'success' });
    const { rows } = await t.database.pool.query<{ event: string; task_id: string; state: string; error: string | null }>(
      `SELECT event, task_id, state, error FROM callback_events ORDER BY id`,
    );
    expect(rows).toHaveLength(6);
    expect(rows.filter((r) => r.state === 'pending')).toEqual([]);
    const thrown = rows.find((r) => r.event === 'success' && r.task_id === 'flaky_then_ok')!;
    expect(thrown.state).toBe('failed');
    expect(thrown.error).toContain('planted callback failure');
  }, 60_000);

  it('a failing webhook is stored on its event, and neither the URL nor the token reaches the log', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } }));
    const closed = `http://127.0.0.1:9/secret-path-${Date.now()}`;
    const hook = { webhook: { urlEnv: 'DEAD_HOOK', headersFromEnv: { Authorization: 'DEAD_TOKEN' }, retries: 1, retryDelayMs: 10 } };
    const dag = compileDag(defineDag({ id: 'cb_dead', onFailure: hook, tasks: { x: { kind: 'effect' } } }), 'test/cb_dead.ts', t.kinds);
    await t.database.pool.query(
      `INSERT INTO callback_events (key, dag_id, run_id, event, payload) VALUES ('run:1:x:failure', 'cb_dead', 1, 'failure', '{"state":"failed","logicalDate":"2025-01-01T00:00:00.000Z"}')`,
    );
    const deliverer = new CallbackDeliverer({ pool: t.database.pool, dags: new Map([[dag.id, dag]]), log, env: { DEAD_HOOK: closed, DEAD_TOKEN: TOKEN } });
    expect(await deliverer.tick()).toBe(1);
    expect(await deliverer.tick()).toBe(0);
    const { rows } = await t.database.pool.query(`SELECT state, error FROM callback_events WHERE key = 'run:1:x:failure'`);
    expect(rows[0].state).toBe('failed');
    expect(rows[0].error).toMatch(/CALLBACK_FAILED: webhook POST request failed \(\w+\) after 2 attempts/);
    const text = lines.join('') + rows[0].error;
    expect(text).toContain('a callback failed');
    expect(text).not.toContain('secret-path');
    expect(text).not.toContain('s3cret');
  });
});
