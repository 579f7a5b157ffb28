/**
 * Staging table → target. A merge drops last-wins duplicates, removes the coercion audit of lines
 * that will not load, inserts (modes.ts) and empties the table. Insert-new plans merge each full
 * segment while the file is still read, without the reader waiting for it (its next COPY text
 * waits in memory until the connection is free); `finish()` merges the rest and drops the table.
 */
import type pg from 'pg';
import type { CoercionLog } from './coercions.ts';
import { dropStagedDuplicates, insertStaged } from './modes.ts';
import type { LoadPlan } from './plan.ts';

export class StagingMerge {
  /** Rows written to the target so far (inserted or updated). */
  loaded = 0;
  /** Coercion audit rows removed because their line did not load, by `column.coercion`. */
  readonly dropped = new Map<string, number>();
  private running: Promise<void> | null = null;
  private settled = true;

  constructor(private readonly client: pg.PoolClient, private readonly plan: LoadPlan, private readonly coercions: CoercionLog | null) {}

  /** A segment merge is still running on the connection. */
  get busy(): boolean {
    return !this.settled;
  }

  /** Merges the staged segment in the background; `wait()` (or `finish()`) surfaces its error. */
  start(): void {
    const running = this.merge('truncate');
    this.settled = false;
    running.then(() => (this.settled = true), () => (this.settled = true));
    this.running = running;
  }

  async wait(): Promise<void> {
    const running = this.running;
    this.running = null;
    await running;
  }

  async finish(): Promise<void> {
    await this.wait();
    await this.merge('drop');
  }

  private async merge(then: 'truncate' | 'drop'): Promise<void> {
    await dropStagedDuplicates(this.client, this.plan);
    for (const [key, n] of (await this.coercions?.dropUnloaded(this.plan)) ?? []) this.dropped.set(key, (this.dropped.get(key) ?? 0) + n);
    this.loaded += await insertStaged(this.client, this.plan, then);
  }
}
