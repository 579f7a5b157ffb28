/**
 * Deterministic BullMQ job ids and the jobs the engine asks the dispatcher to enqueue. The same
 * run + task + map index + try (+ sensor poke) always gives the same id, so adding twice is a no-op.
 */
import type { TaskJobData } from './queues.ts';

export interface PendingJob {
  queue: string;
  jobId: string;
  data: TaskJobData;
  delayMs?: number;
  priority?: number;
}

export function jobIdFor(runId: number, taskId: string, mapIndex: number, tryNumber: number, poke = 0): string {
  const base = `r${runId}-${taskId}-m${mapIndex}-t${tryNumber}`;
  return poke > 0 ? `${base}-p${poke}` : base;
}

/** Exponential backoff: first retry after `base`, doubling each try, capped. */
export function retryDelay(base: number, cap: number, failedTry: number): number {
  return Math.min(cap, base * 2 ** Math.max(0, failedTry - 1));
}
