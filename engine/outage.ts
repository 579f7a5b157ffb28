/**
 * One log line when a dependency (the database, the queue) goes down and one when it is back —
 * not one per failed statement, so an outage does not become a log storm.
 */
import type { Logger } from 'pino';
import { describeError, isInfrastructure } from './errors.ts';

export class OutageLog {
  private readonly down = new Map<string, { since: number; passes: number }>();

  constructor(private readonly log: Logger) {}

  /** A pass (a statement, a loop's round) failed because `what` is unreachable: said once per outage. */
  failed(what: string, err: unknown): void {
    const outage = this.down.get(what);
    if (outage) {
      outage.passes++;
      return;
    }
    this.down.set(what, { since: Date.now(), passes: 1 });
    this.log.warn({ err: describeError(err) }, `${what} unavailable; retrying until it is back`);
  }

  /**
   * A background loop's pass failed: an outage of `what` when the error says so or `probe` (a
   * `SELECT 1`) fails too — one line for the whole outage —, else the error on its own line.
   */
  async passFailed(what: string, err: unknown, probe: () => Promise<unknown>, message: string): Promise<void> {
    if (isInfrastructure(err) || !(await probe().then(() => true, () => false))) return this.failed(what, err);
    this.log.error({ err: describeError(err) }, message);
  }

  /** `what` answered again: one line with how long it was gone and how many passes failed meanwhile. */
  ok(what: string): void {
    const outage = this.down.get(what);
    if (outage === undefined) return;
    this.down.delete(what);
    this.log.info({ down_ms: Date.now() - outage.since, failed_passes: outage.passes }, `${what} available again`);
  }
}
