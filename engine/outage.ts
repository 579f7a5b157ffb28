/**
 * One log line when a dependency (the database, the queue) goes down and one when it is back —
 * not one per failed statement, so an outage does not become a log storm.
 */
import type { Logger } from 'pino';
import { describeError } from './errors.ts';

export class OutageLog {
  private readonly downSince = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  failed(what: string, err: unknown): void {
    if (this.downSince.has(what)) return;
    this.downSince.set(what, Date.now());
    this.log.warn({ err: describeError(err) }, `${what} unavailable; retrying until it is back`);
  }

  ok(what: string): void {
    const since = this.downSince.get(what);
    if (since === undefined) return;
    this.downSince.delete(what);
    this.log.info({ down_ms: Date.now() - since }, `${what} available again`);
  }
}
