/**
 * What a waiting sensor keeps between pokes (the task's resume state): when it started, each file
 * it saw with since when its size and mtime hold, and `waiting` — what it waits for, for people
 * (`trib run show`, /api/runs/:id). waitingOf() reads it back from any stored resume state.
 */
import { z } from 'zod';
import type { Json } from '../../engine/types.ts';

const seenFile = z.object({ bytes: z.number(), mtimeMs: z.number(), since: z.number() });

export const waitStatus = z.object({
  wanted: z.number().int(),
  /** Matching files present now (stable or not). */
  found: z.number().int(),
  /** Of those, the ones whose size and mtime held for stableForMs. */
  stable: z.number().int(),
  pattern: z.string(),
  dir: z.string(),
  /** ISO timestamps. */
  nextCheckAt: z.string(),
  deadline: z.string(),
});
export type WaitStatus = z.infer<typeof waitStatus>;

export const sensorState = z.object({
  firstPokeAt: z.number(),
  files: z.record(z.string(), seenFile),
  waiting: waitStatus,
});
export type SensorState = z.infer<typeof sensorState>;
export type SeenFile = z.infer<typeof seenFile>;

/** The waiting status in a task's resume state, with its text as of `now`; null when there is none. */
export function waitingOf(resumeState: Json | undefined, now: Date): (WaitStatus & { text: string }) | null {
  const parsed = sensorState.safeParse(resumeState);
  return parsed.success ? { ...parsed.data.waiting, text: describeWait(parsed.data.waiting, now) } : null;
}

/** `waiting for 3 files matching acme_20250513.csv in /data (1 found, next check in 60 s, deadline 10:00 UTC)` */
export function describeWait(status: WaitStatus, now: Date): string {
  const files = status.wanted === 1 ? '1 file' : `${status.wanted} files`;
  const found = status.stable < status.found ? `${status.found} found, ${status.found - status.stable} still changing` : `${status.found} found`;
  const seconds = Math.ceil((Date.parse(status.nextCheckAt) - now.getTime()) / 1000);
  const next = seconds > 0 ? `next check in ${seconds} s` : 'next check due now';
  return `waiting for ${files} matching ${status.pattern} in ${status.dir} (${found}, ${next}, deadline ${clock(new Date(status.deadline), now)})`;
}

/** `10:00 UTC` on the same UTC day as `now`, else `2025-05-14 10:00 UTC`. */
function clock(at: Date, now: Date): string {
  const iso = at.toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}
