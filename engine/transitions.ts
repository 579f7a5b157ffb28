/**
 * The TypeScript side of the engine's state machine, kept thin: each function calls one function
 * of engine/sql (claim, end, advance, start-queued-runs, settle-map, slice; the contract on top of each file) and maps its result to the jobs the dispatcher enqueues after COMMIT.
 */
import type pg from 'pg';
import type { PendingJob } from './jobs.ts';
import type { CollectedLine } from './logger.ts';
import { END_SQL, type Claimed } from './try-sql.ts';
import type { Json } from './types.ts';

/** A job as the SQL functions return it (trib_job). */
export interface SqlJob {
  queue: string;
  jobId: string;
  instanceId: number;
  tryNumber: number;
  priority?: number;
}

export interface AdvanceResult {
  jobs: PendingJob[];
  /** Set when this call ended the run. */
  runState?: 'success' | 'failed';
}

export function toPendingJobs(jobs: readonly SqlJob[] | undefined): PendingJob[] {
  return (jobs ?? []).map((j) => ({
    queue: j.queue,
    jobId: j.jobId,
    data: { taskInstanceId: Number(j.instanceId), tryNumber: j.tryNumber },
    priority: j.priority,
  }));
}

/** Connections whose session already carries this process's worker name (see claimAndBegin). */
const named = new WeakSet<pg.PoolClient>();

/**
 * Claims the try and opens its transaction in ONE round trip: the simple-protocol message
 * "BEGIN; SELECT * FROM trib_claim(…); COMMIT; BEGIN" commits the claim first (a worker killed
 * mid-handler must leave its attempt on record) and leaves the connection inside the try's
 * transaction. Returns the try's context first, then the next `take` children of its slice when
 * it is a mapped child (claimed with it: its lane, engine/lane-batch.ts); empty when there is
 * nothing to run (the caller then rolls back the empty transaction). Only integers, checked, are
 * written into the text; the worker name travels as a session setting, set once per connection
 * with a bound parameter.
 */
export async function claimAndBegin(client: pg.PoolClient, instanceId: number, tryNumber: number, worker: string, leaseMs: number, take = 0): Promise<Claimed[]> {
  for (const value of [instanceId, tryNumber, leaseMs, take]) {
    if (!Number.isSafeInteger(value)) throw new Error(`claim argument ${String(value)} is not an integer`);
  }
  if (!named.has(client)) {
    await client.query("SELECT set_config('trib.worker', $1, false)", [worker]);
    named.add(client);
  }
  const results = (await client.query(
    `BEGIN; SELECT * FROM trib_claim(${instanceId}, ${tryNumber}, current_setting('trib.worker'), ${leaseMs}, NULL, ${take}); COMMIT; BEGIN`,
  )) as unknown as pg.QueryResult<Claimed>[];
  const [head, ...lane] = results[1].rows;
  // A sibling whose upstream rows are the try's gets no upstream of its own: it shares the try's.
  return head ? [head, ...lane.map((c) => ({ ...c, upstream: c.upstream ?? head.upstream }))] : [];
}

export interface TryEnd {
  state: 'success' | 'failed';
  result: Json;
  error: string | null;
  code: string | null;
  lines: readonly CollectedLine[];
  /** Hand-over: claim the next try made ready on this queue (or the next child of a mapped child's slice) for this worker, in the same transaction. */
  take?: { queue: string; worker: string; leaseMs: number };
}

export interface Ended {
  jobs: PendingJob[];
  /** A mapped child's parent, to settle after COMMIT (commitTry). */
  settle: number | null;
  /** The next try, claimed for this worker by the hand-over: run it after COMMIT, on the same connection. */
  next: Claimed | null;
}

/** trib_claim's row as trib_end returns it inside JSON: its timestamps as text, `upstream` null when it is the ending try's. */
type ClaimedJson = Omit<Claimed, 'logical_date' | 'interval_end' | 'upstream'> & {
  logical_date: string; interval_end: string; upstream: Claimed['upstream'] | null;
};

/**
 * Ends the claimed try for good inside its transaction (trib_end). null when the claim was lost
 * (the caller must roll back); else the jobs to enqueue, for a mapped child the parent id to
 * settle after COMMIT (commitTry), and the next try when it was handed over — a mapped sibling
 * whose upstream rows are those `c` read from shares `c.upstream` (never handed to a handler as is).
 */
export async function endTry(client: pg.PoolClient, c: Claimed, end: TryEnd): Promise<Ended | null> {
  const { lines, take } = end;
  const { rows } = await client.query<{ ended: { won: boolean; jobs?: SqlJob[]; settle?: number; next?: ClaimedJson } }>({
    name: 'trib_end',
    text: END_SQL,
    values: [
      c.id, c.try_number, c.attempt, end.state, JSON.stringify(end.result ?? null), end.error, end.code,
      lines.map((l) => l.level), lines.map((l) => l.message), lines.map((l) => JSON.stringify(l.fields)), lines.map((l) => l.at),
      take?.worker ?? null, take?.leaseMs ?? null, take?.queue ?? null, take ? c.upstream_key : null,
    ],
  });
  const { ended } = rows[0];
  if (!ended.won) return null;
  return { jobs: toPendingJobs(ended.jobs), settle: ended.settle ?? null, next: ended.next ? fromJson(ended.next, c) : null };
}

/** trib_claim leaves `upstream` out only when its upstream key is the one trib_end passed, `c`'s. */
function fromJson(next: ClaimedJson, c: Claimed): Claimed {
  return { ...next, upstream: next.upstream ?? c.upstream, logical_date: new Date(next.logical_date), interval_end: new Date(next.interval_end) };
}

/** A mapped child's successful end, held to be written with its siblings' (engine/lane-batch.ts). */
export interface ChildEnd {
  claimed: Claimed;
  result: Json;
  lines: readonly CollectedLine[];
}

/**
 * How a batch end goes on with the slice: `hold` — the caller still holds claimed children of it;
 * `take` — up to that many next children claimed for `worker` (0: the next child's job).
 */
export type SliceOn = { hold: true } | { take: number; queue: string; worker: string; leaseMs: number };

export interface BatchEnded {
  jobs: PendingJob[];
  /** The parent to settle after COMMIT (commitTry) when the slice is done. */
  settle: number | null;
  /** The ids of the children whose end was written (the others' claims were lost). */
  won: Set<number>;
  /** The children the batch end claimed for this worker, in slice order. */
  taken: Claimed[];
}

/**
 * Ends mapped children of one slice as succeeded inside the caller's transaction
 * (engine/sql/end-batch.sql), each by its own compare-and-set, and goes on with the slice.
 * Children taken share the upstream results of the last child ended when their upstream key is its.
 */
export async function endBatch(client: pg.PoolClient, ends: readonly ChildEnd[], on: SliceOn): Promise<BatchEnded> {
  const lines = ends.flatMap((e, i) => e.lines.map((l) => ({ owner: i + 1, line: l })));
  const last = ends[ends.length - 1].claimed;
  const take = 'take' in on ? on : null;
  const { rows } = await client.query<{ ended: { won: number[]; jobs: SqlJob[]; settle?: number; next: ClaimedJson[] } }>({
    name: 'trib_end_batch',
    text: 'SELECT trib_end_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) AS ended',
    values: [
      ends.map((e) => e.claimed.id), ends.map((e) => e.claimed.try_number), ends.map((e) => e.claimed.attempt),
      ends.map((e) => JSON.stringify(e.result ?? null)),
      lines.map((l) => l.owner), lines.map((l) => l.line.level), lines.map((l) => l.line.message),
      lines.map((l) => JSON.stringify(l.line.fields)), lines.map((l) => l.line.at),
      take?.worker ?? null, take?.leaseMs ?? null, take?.queue ?? null, take ? take.take : -1, take ? last.upstream_key : null,
    ],
  });
  const { ended } = rows[0];
  return { won: new Set(ended.won.map(Number)), jobs: toPendingJobs(ended.jobs), settle: ended.settle ?? null, taken: ended.next.map((n) => fromJson(n, last)) };
}

/** The job of the next queued child in a mapped child's slice (trib_slice_next), when there is one. */
export async function nextInSlice(pool: pg.Pool, instanceId: number): Promise<PendingJob[]> {
  const { rows } = await pool.query<{ job: SqlJob | null }>({
    name: 'trib_slice_next', text: 'SELECT trib_slice_next($1) AS job', values: [instanceId],
  });
  return toPendingJobs(rows[0].job ? [rows[0].job] : []);
}

/**
 * advanceRun(client, runId): inside the caller's transaction, takes the run's row lock and moves
 * every task whose upstreams have settled; ends the run and hands off when nothing can move.
 * Idempotent (trib_advance).
 */
export async function advanceRun(client: pg.PoolClient, runId: number): Promise<AdvanceResult> {
  const { rows } = await client.query<{ advanced: { jobs: SqlJob[]; runState?: 'success' | 'failed' } }>({
    name: 'trib_advance', text: 'SELECT trib_advance($1) AS advanced', values: [runId],
  });
  return { jobs: toPendingJobs(rows[0].advanced.jobs), runState: rows[0].advanced.runState };
}

/** Starts the DAG's queued runs within maxActiveRuns (trib_start_queued_runs); returns their first jobs. */
export async function startQueuedRuns(client: pg.PoolClient, dagId: string): Promise<PendingJob[]> {
  const { rows } = await client.query<{ jobs: SqlJob[] }>({
    name: 'trib_start_queued_runs', text: 'SELECT trib_start_queued_runs($1) AS jobs', values: [dagId],
  });
  return toPendingJobs(rows[0].jobs);
}

/**
 * Commits the try's transaction; `then` says what the same round trip does after the COMMIT:
 * - `{ settle }` after a mapped child's end: asks trib_settle_map whether it was the last child
 *   ("COMMIT; SELECT …" in one simple-protocol message runs the check after the COMMIT, with no
 *   lock held in between). The id is a bigint the database returned, checked to be an integer
 *   before it is written into the text.
 * - `{ begin: true }` after a hand-over: opens the next try's transaction ("COMMIT; BEGIN").
 * Returns the jobs the settle made ready.
 */
export async function commitTry(client: pg.PoolClient, then: { settle?: number | null; begin?: boolean } = {}): Promise<PendingJob[]> {
  if (then.begin) {
    await client.query('COMMIT; BEGIN');
    return [];
  }
  if (then.settle === null || then.settle === undefined) {
    await client.query('COMMIT');
    return [];
  }
  const parentId = Number(then.settle);
  if (!Number.isSafeInteger(parentId)) throw new Error(`mapped parent id ${String(then.settle)} is not an integer`);
  const results = (await client.query(`COMMIT; SELECT trib_settle_map(${parentId}) AS settled`)) as unknown as pg.QueryResult<{
    settled: { jobs: SqlJob[] };
  }>[];
  return toPendingJobs(results[1].rows[0].settled.jobs);
}
