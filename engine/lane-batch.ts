/**
 * The children of one slice (engine/sql/slice.sql) that one delivery runs back to back, ended in
 * batches: a mapped child whose handler used neither its try's transaction (`ctx.client`,
 * `ctx.db`) nor an after-commit effect wrote nothing but its result and its log lines, so its end
 * may wait in memory and be written with its siblings' in one statement and one COMMIT
 * (engine/sql/end-batch.sql), which also claims the next children of the slice for this worker.
 * A child that used its transaction ends with the children held before it, inside that
 * transaction. Held ends stay under their leases until written: a worker that dies first leaves
 * them running, and they are delivered again when their leases expire (nothing of them committed).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { enqueueSafely, type FailureDeps } from './attempt-end.ts';
import { describeError } from './errors.ts';
import type { Leases } from './leases.ts';
import type { CollectedLine } from './logger.ts';
import { commitTry, endBatch, type BatchEnded, type ChildEnd, type SliceOn } from './transitions.ts';
import { markFenced, type Claimed } from './try-sql.ts';

/** Children claimed at once, and ends held at most, per slice. */
export const LANE_BATCH = 16;
/** A held end is written within about this long, even while a slow sibling runs (whileRunning). */
export const HOLD_MS = 100;

export interface HeldEnd extends ChildEnd {
  lines: CollectedLine[];
  log: Logger;
  bindings: Record<string, unknown>;
}

interface LaneDeps extends FailureDeps {
  leases: Leases;
  log: Logger;
  workerName: string;
}

export class LaneBatch {
  /** Children claimed for this delivery, not run yet (their leases held). */
  readonly claimed: Claimed[] = [];
  /** Ends not written yet (their leases held). */
  private held: HeldEnd[] = [];
  private heldSince = 0;

  constructor(private readonly deps: LaneDeps) {}

  get holding(): number {
    return this.held.length;
  }

  /** Whether `child`'s end is held (not written yet). */
  holds(child: Claimed): boolean {
    return this.held.some((e) => e.claimed === child);
  }

  /** Takes `child`'s end out of the held ones: its try failed after all (a failed write or COMMIT), it ends as a failure. */
  forget(child: Claimed): void {
    this.held = this.held.filter((e) => e.claimed !== child);
  }

  /** Whether `child`'s end goes through the batch: a mapped child, when hand-over is on or the lane is under way. */
  takes(child: Claimed, mayHandOver: boolean): boolean {
    return child.map_index >= 0 && (mayHandOver || this.claimed.length > 0 || this.held.length > 0);
  }

  /** Holds `end` when the next claimed child can run first; false when the ends must be written now. */
  hold(end: HeldEnd): boolean {
    if (this.held.length === 0) this.heldSince = performance.now();
    this.held.push(end);
    return this.claimed.length > 0 && this.held.length < LANE_BATCH && performance.now() - this.heldSince < HOLD_MS;
  }

  /** How the next batch end goes on with the slice: `takeUpTo` children may still be taken by this delivery. */
  sliceOn(queue: string, takeUpTo: number): SliceOn {
    if (this.claimed.length > 0) return { hold: true };
    return { take: Math.max(0, Math.min(LANE_BATCH, takeUpTo)), queue, worker: this.deps.workerName, leaseMs: this.deps.leases.leaseMs };
  }

  /** Writes the held ends and `current`'s (its writes in the same transaction) on `client`, inside its transaction. */
  write(client: pg.PoolClient, on: SliceOn, current?: ChildEnd): Promise<BatchEnded> {
    return endBatch(client, current ? [...this.held, current] : this.held, on);
  }

  /**
   * After the COMMIT of a batch end: the held ends are written (their leases dropped; a lost
   * claim is put on its attempt's record), the children taken are this delivery's to run (their
   * leases start from that COMMIT).
   */
  async written(ended: BatchEnded): Promise<void> {
    this.adopt(ended.taken);
    const held = this.held;
    this.held = [];
    for (const end of held) {
      this.deps.leases.delete(end.claimed.id, end.claimed.attempt);
      if (ended.won.has(end.claimed.id)) this.deps.log.info(end.bindings, 'try succeeded');
      else {
        end.log.warn('claim lost to another delivery; nothing committed');
        await markFenced(this.deps.pool, end.claimed);
      }
    }
  }

  /** Children of the slice claimed for this delivery (their leases start from the claim's COMMIT), to run after those claimed before. */
  adopt(taken: readonly Claimed[]): void {
    for (const c of taken) this.deps.leases.add(c.id, c.attempt);
    this.claimed.push(...taken);
  }

  /** The next claimed child to run. */
  next(): Claimed | null {
    return this.claimed.shift() ?? null;
  }

  /**
   * Call as a child of the slice starts: if it runs past the held ends' HOLD_MS, they are written
   * on a connection of their own meanwhile (a slow sibling must not keep them from the run page,
   * nor from the record if this worker dies). Await the returned function once the child is over.
   */
  whileRunning(): () => Promise<void> {
    if (this.held.length === 0) return async () => undefined;
    let writing: Promise<void> | undefined;
    const timer = setTimeout(() => (writing = this.writeOnPool({ hold: true })), Math.max(0, HOLD_MS - (performance.now() - this.heldSince)));
    return async () => {
      clearTimeout(timer);
      await writing;
    };
  }

  /**
   * Writes the held ends on a connection of their own (after a sibling failed, or when the
   * delivery stops, or a sibling runs long: `hold`): the slice goes on by job unless claimed
   * children remain. When that fails the held children stay running until their leases expire
   * and are delivered again.
   */
  async writeOnPool(on: SliceOn = this.sliceOn('', 0)): Promise<void> {
    if (this.held.length === 0) return;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.deps.pool.connect();
      await client.query('BEGIN');
      const ended = await this.write(client, on);
      const jobs = [...ended.jobs, ...(await commitTry(client, { settle: ended.settle }))];
      client.release();
      await this.written(ended);
      await enqueueSafely(this.deps, jobs);
    } catch (err) {
      client?.release(true);
      this.deps.log.warn({ children: this.held.length }, `the ends of ${this.held.length} finished children could not be written (they run again once their leases expire): ${describeError(err)}`);
      for (const end of this.held) this.deps.leases.delete(end.claimed.id, end.claimed.attempt);
      this.held = [];
    }
  }
}
