/**
 * The jobs the engine asks the dispatcher to enqueue, and the retry backoff. Their ids are made in
 * SQL only (engine/sql/job-id.sql): the same delivery always gets the same id, so adding twice is a no-op.
 */
import type { TaskJobData } from './queues.ts';

export interface PendingJob {
  queue: string;
  jobId: string;
  data: TaskJobData;
  delayMs?: number;
  priority?: number;
}

/** Exponential backoff: first retry after `base`, doubling each try, capped. */
export function retryDelay(base: number, cap: number, failedTry: number): number {
  return Math.min(cap, base * 2 ** Math.max(0, failedTry - 1));
}
