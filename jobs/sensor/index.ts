/**
 * sensor — waits for the day's files to land without holding a worker slot: each poke lists the
 * folder, and when too few files are there (or a file is still changing) it re-schedules itself as
 * a delayed job, keeping what it waits for in its resume state (wait-state.ts) and logging it once
 * per change. Returns `{ files: [{ path, partition?, bytes, mtimeMs }], dir, by }` for downstream tasks
 * (`by.<placeholder>.<value>` is the file whose name had that value). At the deadline it fails
 * (SENSOR_TIMEOUT) or continues with what arrived, as configured.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TributaryError } from '../../engine/errors.ts';
import type { HandlerOutcome, JobKind, Json, TaskContext } from '../../engine/types.ts';
import { confinePath } from '../paths.ts';
import { renderTemplate } from '../templates.ts';
import { compileFilePattern } from './file-pattern.ts';
import { describeWait, sensorState, type SeenFile, type SensorState, type WaitStatus } from './wait-state.ts';

export const sensorOptions = z
  .object({
    /** Folder to watch, inside the data roots; `{yyyymmdd}` / `{yyyy-mm-dd}` / `{params.x}` are rendered for the run. */
    dir: z.string().min(1),
    /**
     * File names to wait for, as people write them (file-pattern.ts): `{table}_{yyyymmdd}.csv`,
     * `*.csv`, or a run param holding such a pattern (`{params.filePattern}`). Use this or `pattern`.
     * @default any file
     */
    filePattern: z.string().min(1).optional(),
    /** Allowed values of a `{name}` part of `filePattern`, e.g. `{ table: ['sellers', …] }`. @default any name */
    values: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
    /** File-name regex, anchored, with date placeholders (instead of `filePattern`). @default any file */
    pattern: z.string().min(1).optional(),
    /** The `{name}` part (or regex group) whose value becomes each file's partition. @default 'partition' */
    partitionBy: z.string().min(1).default('partition'),
    /** Files needed before the sensor is satisfied. @default 1 */
    minFiles: z.number().int().min(1).default(1),
    /**
     * A file is taken once its size and mtime have not changed for this long, across pokes. Files
     * written in place (SFTP, `cp`, an exporter appending) need it longer than the writer's longest
     * pause; files renamed into place when complete (`*.tmp` → final name, with a `filePattern` that
     * skips `*.tmp`) can use 0. Either way the load refuses a file that changed after the sensor took
     * it (FILE_CHANGED, see the load's `fileChanged`). Shipped DAGs use 2000. @default 0 (no check)
     */
    stableForMs: z.number().int().min(0).default(0),
    /** Time between pokes; sooner when a changing file would be stable by then, never past the timeout. @default 30000 */
    pokeIntervalMs: z.number().int().min(10).default(30_000),
    /** How long to wait from the first poke. @default 6 hours */
    timeoutMs: z.number().int().min(0).default(6 * 3600_000),
    /** At the deadline: fail the task, or continue with the files found (possibly none). @default 'fail' */
    onTimeout: z.enum(['fail', 'continue']).default('fail'),
  })
  .strict()
  .refine((o) => o.filePattern === undefined || o.pattern === undefined, 'give filePattern or pattern, not both');

export type SensorOptions = z.infer<typeof sensorOptions>;

interface FoundFile {
  path: string;
  /** From the pattern's `partitionBy` part; absent when the pattern has none. */
  partition?: string;
  bytes: number;
  mtimeMs: number;
  /** The value of every named part of the name. */
  parts: Record<string, string>;
}

function matcherOf(options: SensorOptions, ctx: TaskContext): { regex: RegExp; display: string } {
  if (options.pattern === undefined) return compileFilePattern(options.filePattern ?? '*', ctx, options.values);
  const regex = new RegExp(renderTemplate(options.pattern, ctx));
  return { regex, display: `/${regex.source}/` };
}

async function listMatching(dir: string, pattern: RegExp, partitionBy: string): Promise<FoundFile[]> {
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
    const parts = Object.fromEntries(Object.entries(match.groups ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
    const partition = parts[partitionBy];
    found.push({ path: path.join(dir, name), ...(partition ? { partition } : {}), bytes: stat.size, mtimeMs: stat.mtimeMs, parts });
  }
  return found;
}

/** The result downstream tasks read: the files, and each file by the value of each named part. */
function resultOf(files: FoundFile[], dir: string): { [key: string]: Json } {
  // bytes and mtimeMs: what the load checks the file against before it reads (a file still being written fails it)
  const item = (f: FoundFile) => ({ path: f.path, ...(f.partition ? { partition: f.partition } : {}), bytes: f.bytes, mtimeMs: f.mtimeMs });
  const by: Record<string, Record<string, Json>> = {};
  for (const f of files) for (const [name, value] of Object.entries(f.parts)) (by[name] ??= {})[value] = item(f);
  return { files: files.map(item), dir, by };
}

async function poke(ctx: TaskContext, options: SensorOptions): Promise<HandlerOutcome> {
  const dir = await confinePath(renderTemplate(options.dir, ctx), ctx.dataRoots, 'sensor folder');
  const { regex, display } = matcherOf(options, ctx);
  const stored = sensorState.safeParse(ctx.resumeState);
  const previous = stored.success ? stored.data : null;
  const now = Date.now();
  const firstPokeAt = previous?.firstPokeAt ?? now;
  const deadline = firstPokeAt + options.timeoutMs;
  const listed = await listMatching(dir, regex, options.partitionBy);

  const seen: Record<string, SeenFile> = {};
  for (const f of listed) {
    const before = previous?.files[f.path];
    const same = before !== undefined && before.bytes === f.bytes && before.mtimeMs === f.mtimeMs;
    seen[f.path] = { bytes: f.bytes, mtimeMs: f.mtimeMs, since: same ? before.since : now };
  }
  const stableAt = (f: FoundFile) => seen[f.path].since + options.stableForMs;
  const stable = listed.filter((f) => options.stableForMs === 0 || stableAt(f) <= now);
  const result = resultOf(stable, dir);

  if (stable.length >= options.minFiles && stable.length === listed.length) {
    ctx.log.info({ files: stable.length }, 'sensor satisfied');
    return result;
  }
  if (now >= deadline) {
    if (options.onTimeout === 'continue') {
      ctx.log.warn({ files: stable.length, wanted: options.minFiles }, 'sensor deadline passed: continuing with the files found');
      return { ...result, timedOut: true };
    }
    throw new TributaryError(
      'SENSOR_TIMEOUT',
      `sensor waited ${options.timeoutMs} ms for ${options.minFiles} file(s) matching ${display} in ${dir}; found ${stable.length}`,
    );
  }
  // The next check: the poke interval, sooner when a changing file would be stable by then, never past the deadline.
  const due = listed.filter((f) => !stable.includes(f)).map((f) => stableAt(f) - now);
  const delayMs = Math.max(1, Math.min(options.pokeIntervalMs, deadline - now, ...due));
  const waiting: WaitStatus = {
    wanted: options.minFiles, found: listed.length, stable: stable.length, pattern: display, dir,
    nextCheckAt: new Date(now + delayMs).toISOString(), deadline: new Date(deadline).toISOString(),
  };
  if (previous === null || previous.waiting.found !== waiting.found || previous.waiting.stable !== waiting.stable) {
    ctx.log.info({ files: waiting.found, stable: waiting.stable, wanted: waiting.wanted }, describeWait(waiting, new Date(now)));
  }
  const state: SensorState = { firstPokeAt, files: seen, waiting };
  return { reschedule: { delayMs, state: state as unknown as Json } };
}

export const sensorKind: JobKind<SensorOptions> = {
  name: 'sensor',
  options: sensorOptions,
  handler: poke,
};
