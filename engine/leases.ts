/**
 * The leases of the attempts this process is running. A running attempt is owned by its worker
 * while its lease (task_instances.lease_until) is in the future; one statement every third of the
 * lease renews them all. An attempt whose worker died stops being renewed, and once its lease has
 * expired, a new delivery may take the try over (counted as a lost attempt).
 */
import type pg from 'pg';
import type { OutageLog } from './outage.ts';
import { HEARTBEAT_SQL } from './try-sql.ts';

export class Leases {
  private readonly held = new Set<number>();
  private timer?: NodeJS.Timeout;
  private beating = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly worker: string,
    readonly leaseMs: number,
    private readonly outage: OutageLog,
  ) {}

  add(instanceId: number): void {
    this.held.add(instanceId);
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  delete(instanceId: number): void {
    this.held.delete(instanceId);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    if (this.beating || this.held.size === 0) return; // a slow beat (database down) is not stacked
    this.beating = true;
    try {
      await this.pool.query({ name: 'trib_heartbeat', text: HEARTBEAT_SQL, values: [[...this.held], this.worker, this.leaseMs] });
      this.outage.ok('database');
    } catch (err) {
      this.outage.failed('database', err);
    } finally {
      this.beating = false;
    }
  }
}
