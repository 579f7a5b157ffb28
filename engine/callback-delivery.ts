/**
 * Runs callbacks after COMMIT: a deliverer (started with the scheduler) records missed deadlines,
 * claims pending outbox rows (SKIP LOCKED, under a claim lease, so two schedulers deliver each
 * event once), runs the event's callbacks and marks the row delivered or failed. A callback's
 * failure is logged and stored on the row; it never touches the task or run it reports.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { deadlineFor, recordEvent, taskCallbacks, type CallbackEvent, type CallbackEventName, type CompiledCallback } from './callbacks.ts';
import { describeError, TributaryError } from './errors.ts';
import { OutageLog } from './outage.ts';
import type { CompiledDag, Json } from './types.ts';

export interface DelivererOptions {
  pool: pg.Pool;
  dags: ReadonlyMap<string, CompiledDag>;
  log: Logger;
  /** Where a failed pass is told: one line when the database goes, one when it is back. @default its own */
  outage?: OutageLog;
  /** Base of the run links in events: PUBLIC_URL, else `http://DASHBOARD_HOST:DASHBOARD_PORT` (cli/runtime.ts). @default no links */
  dashboardUrl?: string;
  /** How often pending events and deadlines are looked at. @default 1000 */
  pollMs?: number;
  /** A claimed event not finished by then (its deliverer died) is delivered again. @default 300000 */
  claimMs?: number;
  /** Where webhook secrets (urlEnv, headersFromEnv) are read, at delivery. @default process.env */
  env?: Record<string, string | undefined>;
}

interface OutboxRow {
  id: number;
  dag_id: string;
  run_id: number | null;
  task_id: string;
  event: CallbackEventName;
  payload: { [key: string]: Json };
}

/** Claims up to $3 pending events of the given DAGs for $2 ms; returns them oldest first. */
const CLAIM_EVENTS_SQL = `UPDATE callback_events SET claimed_until = now() + make_interval(secs => $2::float8 / 1000)
  WHERE id IN (
    SELECT id FROM callback_events WHERE state = 'pending' AND dag_id = ANY($1::text[])
      AND (claimed_until IS NULL OR claimed_until < now())
    ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
  RETURNING id, dag_id, run_id, task_id, event, payload`;

/** Runs of the given DAGs from the last 8 days without a deadline event yet. */
const DEADLINE_CANDIDATES_SQL = `SELECT r.id, r.dag_id, r.logical_date, r.state, r.ended_at FROM dag_runs r
  WHERE r.dag_id = ANY($1::text[]) AND r.logical_date > now() - interval '8 days'
    AND NOT EXISTS (SELECT 1 FROM callback_events e WHERE e.key = 'deadline:' || r.id)`;

const BATCH = 20;

export class CallbackDeliverer {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  private readonly outage: OutageLog;

  constructor(private readonly options: DelivererOptions) {
    this.outage = options.outage ?? new OutageLog(options.log);
  }

  start(): void {
    const loop = async () => {
      this.running = this.tick().then(
        () => this.outage.ok('database'),
        (err: unknown) => this.outage.passFailed('database', err, () => this.options.pool.query('SELECT 1'), 'callback delivery pass failed; the next one retries'),
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs ?? 1000);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: record missed deadlines, then deliver pending events. Returns how many were delivered. */
  async tick(now = new Date()): Promise<number> {
    await this.recordMissedDeadlines(now);
    const { rows } = await this.options.pool.query<OutboxRow>(CLAIM_EVENTS_SQL, [[...this.options.dags.keys()], this.options.claimMs ?? 300_000, BATCH]);
    for (const row of rows) await this.deliver(row);
    return rows.length;
  }

  private async recordMissedDeadlines(now: Date): Promise<void> {
    const dags = [...this.options.dags.values()].filter((d) => d.deadline && d.deadline.onMissed.length > 0);
    if (dags.length === 0) return;
    const { rows } = await this.options.pool.query<{ id: number; dag_id: string; logical_date: Date; state: string; ended_at: Date | null }>(
      DEADLINE_CANDIDATES_SQL, [dags.map((d) => d.id)],
    );
    for (const run of rows) {
      const dag = this.options.dags.get(run.dag_id) as CompiledDag;
      const due = deadlineFor(dag.deadline!, run.logical_date, dag.schedule?.timezone ?? 'UTC');
      const metInTime = run.state === 'success' && run.ended_at !== null && run.ended_at <= due;
      if (metInTime || now < due) continue;
      await recordEvent(this.options.pool, {
        key: `deadline:${run.id}`,
        dagId: dag.id,
        runId: run.id,
        event: 'deadline_missed',
        payload: { state: run.state, error: `run did not succeed by ${due.toISOString()}`, logicalDate: run.logical_date.toISOString(), deadline: due.toISOString() },
      });
    }
  }

  private callbacksFor(row: OutboxRow): CompiledCallback[] {
    const dag = this.options.dags.get(row.dag_id);
    if (!dag) return [];
    if (row.event === 'deadline_missed') return dag.deadline?.onMissed ?? [];
    if (row.task_id === '') return row.event === 'success' ? dag.callbacks.onSuccess : row.event === 'failure' ? dag.callbacks.onFailure : [];
    const task = dag.tasks.get(row.task_id);
    return task ? taskCallbacks(dag, task, row.event) : [];
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const p = row.payload;
    const event: CallbackEvent = {
      id: row.id,
      event: row.event,
      dag: row.dag_id,
      run: row.run_id,
      task: row.task_id === '' ? null : row.task_id,
      mapIndex: typeof p.mapIndex === 'number' ? p.mapIndex : null,
      tryNumber: typeof p.tryNumber === 'number' ? p.tryNumber : null,
      state: String(p.state),
      error: typeof p.error === 'string' ? p.error : null,
      logicalDate: String(p.logicalDate),
      link: this.options.dashboardUrl && row.run_id !== null ? `${this.options.dashboardUrl.replace(/\/$/, '')}/runs/${row.run_id}` : null,
    };
    const log = this.options.log.child({ dag_id: row.dag_id, run_id: row.run_id, task_id: event.task, callback_event: row.event, event_id: row.id });
    const errors: string[] = [];
    for (const callback of this.callbacksFor(row)) {
      try {
        await this.run(callback, event, log);
      } catch (err) {
        errors.push(`${callback.kind}: ${describeError(err)}`);
        log.error({ callback: callback.kind, err: describeError(err) }, 'a callback failed (the task and run are unchanged)');
      }
    }
    await this.options.pool.query(
      `UPDATE callback_events SET state = $2, error = $3, delivered_at = now(), claimed_until = NULL WHERE id = $1`,
      [row.id, errors.length === 0 ? 'delivered' : 'failed', errors.length === 0 ? null : errors.join('; ')],
    );
  }

  private async run(callback: CompiledCallback, event: CallbackEvent, log: Logger): Promise<void> {
    if (callback.kind === 'function') return void (await callback.fn(event));
    if (callback.kind === 'log') return void log[callback.level]({ state: event.state, error: event.error, link: event.link }, `${event.event} of ${event.task ? `task ${event.task}` : 'run'} in ${event.dag}`);
    const env = this.options.env ?? process.env;
    const secret = (name: string) => {
      const value = env[name];
      if (!value) throw new TributaryError('CALLBACK_FAILED', `webhook: environment variable ${name} is not set`);
      return value;
    };
    const url = callback.url ?? secret(callback.urlEnv as string);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [header, name] of Object.entries(callback.headersFromEnv)) headers[header] = secret(name);
    await postWithRetries(url, headers, JSON.stringify(event), callback);
  }
}

/** POSTs until a 2xx answer, retrying network errors and other answers with exponential backoff. */
async function postWithRetries(
  url: string,
  headers: Record<string, string>,
  body: string,
  policy: { retries: number; retryDelayMs: number; timeoutMs: number },
): Promise<void> {
  let problem = '';
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, policy.retryDelayMs * 2 ** (attempt - 1)));
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(policy.timeoutMs) });
      await res.arrayBuffer();
      if (res.ok) return;
      problem = `answered HTTP ${res.status}`;
    } catch (err) {
      // The message of a fetch error may carry the URL (a secret); keep only its code.
      const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      problem = `request failed (${code})`;
    }
  }
  throw new TributaryError('CALLBACK_FAILED', `webhook POST ${problem} after ${policy.retries + 1} attempts`);
}
