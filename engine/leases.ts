/**
 * The leases of the attempts this process is running. A running attempt is owned by its worker
 * while its lease (task_instances.lease_until) is in the future; one statement every third of the
 * lease renews them all. An attempt whose worker died stops being renewed, and once its lease has
 * expired, a new delivery may take the try over (counted as a lost attempt).
 * Entries are per attempt (instance + attempt number): after an outage one process may run two
 * attempts of one instance (the old one still ending, the one that took it over), and the first
 * to end must not stop renewing the other. The statement renews per instance, for this worker,
 * while the instance is running: an instance stays renewed while any of its attempts here lives.
 */
import type pg from 'pg';
import type { OutageLog } from './outage.ts';
import { renewLeases } from './try-sql.ts';

export class Leases {
  /** instance id → the attempts of it this process is running. */
  private readonly held = new Map<number, Set<number>>();
  private timer?: NodeJS.Timeout;
  private beating = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly worker: string,
    readonly leaseMs: number,
    private readonly outage: OutageLog,
  ) {}

  add(instanceId: number, attempt: number): void {
    const attempts = this.held.get(instanceId) ?? new Set<number>();
    this.held.set(instanceId, attempts.add(attempt));
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  delete(instanceId: number, attempt: number): void {
    const attempts = this.held.get(instanceId);
    attempts?.delete(attempt);
    if (attempts?.size === 0) this.held.delete(instanceId);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    if (this.beating || this.held.size === 0) return; // a slow beat (database down) is not stacked
    this.beating = true;
    try {
      await renewLeases(this.pool, [...this.held.keys()], this.worker, this.leaseMs);
      this.outage.ok('database');
    } catch (err) {
      this.outage.failed('database', err);
    } finally {
      this.beating = false;
    }
  }
}
