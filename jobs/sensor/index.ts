/**
 * sensor — waits for the day's files to land without holding a worker slot: each poke lists the
 * folder, and when too few files are there (or a file is still growing) it re-schedules itself as
 * a delayed job. Returns `{ files: [{ path, partition, bytes }] }` for mapped downstream tasks.
 * At the deadline it fails (SENSOR_TIMEOUT) or continues with what arrived, as configured.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TributaryError } from '../../engine/errors.ts';
import type { HandlerOutcome, JobKind, Json, TaskContext } from '../../engine/types.ts';
import { renderTemplate } from '../templates.ts';

export const sensorOptions = z
  .object({
    /** Folder to watch; `{yyyymmdd}` / `{yyyy-mm-dd}` are rendered from the logical date. */
    dir: z.string().min(1),
    /**
     * File-name regex, anchored, with date placeholders; a named group `partition` becomes the
     * file's partition (e.g. the sender's name). @default any file
     */
    pattern: z.string().default('^.*$'),
    /** Files needed before the sensor is satisfied. @default 1 */
    minFiles: z.number().int().min(1).default(1),
    /** A file must keep the same size across two pokes this far apart. @default 0 (no check) */
    stableForMs: z.number().int().min(0).default(0),
    /** @default 30000 */
    pokeIntervalMs: z.number().int().min(10).default(30_000),
    /** How long to wait from the first poke. @default 6 hours */
    timeoutMs: z.number().int().min(0).default(6 * 3600_000),
    /** At the deadline: fail the task, or continue with the files found (possibly none). @default 'fail' */
    onTimeout: z.enum(['fail', 'continue']).default('fail'),
  })
  .strict();

export type SensorOptions = z.infer<typeof sensorOptions>;

interface FoundFile {
  path: string;
  /** From the pattern's `partition` group; absent when the pattern has none. */
  partition?: string;
  bytes: number;
}

interface SensorState {
  firstPokeAt: number;
  sizes: Record<string, number>;
}

async function listMatching(dir: string, pattern: RegExp): Promise<FoundFile[]> {
  const names = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw new TributaryError('FILE_UNREADABLE', `sensor cannot list ${dir}: ${err.message}`);
  });
  const found: FoundFile[] = [];
  for (const name of names.sort()) {
    const match = pattern.exec(name);
    if (!match) continue;
    const stat = await fs.stat(path.join(dir, name)).catch(() => null);
    if (!stat?.isFile()) continue;
    const partition = match.groups?.partition;
    found.push({ path: path.join(dir, name), ...(partition ? { partition } : {}), bytes: stat.size });
  }
  return found;
}

async function poke(ctx: TaskContext, options: SensorOptions): Promise<HandlerOutcome> {
  const dir = renderTemplate(options.dir, ctx);
  const pattern = new RegExp(renderTemplate(options.pattern, ctx));
  const previous = (ctx.resumeState ?? null) as SensorState | null;
  const now = Date.now();
  const state: SensorState = { firstPokeAt: previous?.firstPokeAt ?? now, sizes: {} };
  const files = await listMatching(dir, pattern);
  for (const f of files) state.sizes[f.path] = f.bytes;
  const stable = files.filter((f) => options.stableForMs === 0 || previous?.sizes[f.path] === f.bytes);
  const result = { files: stable as unknown as Json, dir };

  if (stable.length >= options.minFiles && stable.length === files.length) {
    ctx.log.info({ files: stable.length }, 'sensor satisfied');
    return result;
  }
  if (now - state.firstPokeAt >= options.timeoutMs) {
    if (options.onTimeout === 'continue') {
      ctx.log.warn({ files: stable.length, wanted: options.minFiles }, 'sensor deadline passed: continuing with the files found');
      return { ...result, timedOut: true };
    }
    throw new TributaryError(
      'SENSOR_TIMEOUT',
      `sensor waited ${options.timeoutMs} ms for ${options.minFiles} file(s) matching /${pattern.source}/ in ${dir}; found ${stable.length}`,
    );
  }
  const delayMs = options.stableForMs > 0 && files.length > 0 ? Math.min(options.pokeIntervalMs, options.stableForMs) : options.pokeIntervalMs;
  ctx.log.info({ files: files.length, stable: stable.length, delay_ms: delayMs }, 'sensor waiting');
  return { reschedule: { delayMs, state: state as unknown as Json } };
}

export const sensorKind: JobKind<SensorOptions> = {
  name: 'sensor',
  options: sensorOptions,
  handler: poke,
};
