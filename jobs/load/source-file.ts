/**
 * A load's file, opened once: confined on its open handle (jobs/paths.ts openConfined), checked against
 * what the sensor saw, hashed, then read for its rows through the same handle; after the read the
 * handle's size and mtime must still be what they were. A file still being written fails the load
 * (FILE_CHANGED, nothing loaded), or with `fileChanged: 'wait'` the load first waits for it to hold still.
 */
import type { Stats } from 'node:fs';
import type fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../engine/errors.ts';
import type { TaskContext } from '../../engine/types.ts';
import { sha256Of } from '../file-hash.ts';
import { openConfined } from '../paths.ts';
import type { LoadOptions } from './options.ts';
import type { SourceFile } from './sources.ts';

export interface FileToLoad {
  /** The path as the task named it. */
  path: string;
  /** Where the opened file really is (the ledger records this). */
  realPath: string;
  partition?: string;
  bytes: number;
  mtimeMs: number;
  /** sha256 of the bytes read for the hash; the streamed read must give the same. */
  sha256: string;
  /** Every read of this file goes through this handle; closed by closeSources(). */
  handle: fs.FileHandle;
}

/**
 * Read size: big enough to amortise per-chunk work, and below V8's large-object size (128 KB),
 * so the chunk's decoded string and the COPY text built from it stay in the young generation:
 * 256 KB chunks put each string in a fresh mapping, and decoding a 150 MB file took ~0.6 s more.
 */
export const READ_CHUNK = 64 << 10;

const when = (ms: number) => new Date(ms).toISOString();
const describeChange = (was: { bytes: number; mtimeMs: number }, now: Stats) =>
  `${was.bytes} → ${now.size} bytes, modified ${when(was.mtimeMs)} → ${when(now.mtimeMs)}`;

const WAY_OUT = 'it may still be being written: give the sensor a stableForMs longer than the writer\'s pauses, ' +
  'have the writer rename a finished *.tmp into place, or set the load\'s fileChanged: \'wait\'';

/**
 * The file's bytes from the start, read by position through the handle, which stays open (a
 * FileHandle's read stream closes the handle when it is destroyed, and a load may read twice).
 */
export async function* readChunks(file: Pick<FileToLoad, 'handle'>): AsyncIterable<Buffer> {
  for (let position = 0; ;) {
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    const { bytesRead } = await file.handle.read(buffer, 0, READ_CHUNK, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield bytesRead === READ_CHUNK ? buffer : buffer.subarray(0, bytesRead);
  }
}

/** Waits until the handle's size and mtime have held for `stableForMs` (the task's timeout aborts it). */
async function waitUntilStill(handle: fs.FileHandle, stableForMs: number, signal: AbortSignal): Promise<Stats> {
  let last = await handle.stat();
  let since = Date.now();
  while (Date.now() - since < stableForMs) {
    await sleep(Math.min(250, stableForMs), undefined, { signal });
    const now = await handle.stat();
    if (now.size !== last.size || now.mtimeMs !== last.mtimeMs) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

/** Opens, confines, checks and hashes one source; closes the handle again if any check fails. */
export async function openSource(ctx: TaskContext, source: SourceFile, options: LoadOptions): Promise<FileToLoad> {
  const opened = await openConfined(source.path, ctx.dataRoots, 'load source');
  try {
    let stat = opened.stat;
    const seen = source.seen;
    if (options.fileChanged === 'wait') {
      const still = await waitUntilStill(opened.handle, options.fileStableMs, ctx.signal);
      if (seen && (still.size !== seen.bytes || still.mtimeMs !== seen.mtimeMs)) {
        ctx.log.warn({ path: opened.path, change: describeChange(seen, still) }, 'load: the file changed since the sensor took it; waited until it held still');
      }
      stat = still;
    } else if (seen && (stat.size !== seen.bytes || stat.mtimeMs !== seen.mtimeMs)) {
      throw new TributaryError('FILE_CHANGED',
        `${opened.path} changed since the sensor took it (${describeChange(seen, stat)}); nothing loaded: ${WAY_OUT}`);
    }
    if (stat.size === 0) throw new TributaryError('FILE_EMPTY', `${opened.path} is empty (0 bytes)`);
    const file: FileToLoad = {
      path: opened.path, realPath: opened.realPath, bytes: stat.size, mtimeMs: stat.mtimeMs, sha256: await sha256Of(opened.handle), handle: opened.handle,
      ...(source.partition === undefined ? {} : { partition: source.partition }),
    };
    await checkUnchanged(file, 'while it was being hashed');
    return file;
  } catch (err) {
    await opened.handle.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof TributaryError || typeof code !== 'string') throw err;
    throw new TributaryError('FILE_UNREADABLE', `cannot read ${opened.path} (${code})`, { cause: err });
  }
}

/** Throws FILE_CHANGED when the open file's size or mtime is no longer what the load started from. */
export async function checkUnchanged(file: FileToLoad, when: string): Promise<void> {
  const now = await file.handle.stat();
  if (now.size !== file.bytes || now.mtimeMs !== file.mtimeMs) {
    throw new TributaryError('FILE_CHANGED', `${file.path} changed ${when} (${describeChange(file, now)}); nothing loaded: ${WAY_OUT}`);
  }
}

/** Closes every handle (after the load, whatever its outcome). */
export async function closeSources(files: readonly FileToLoad[]): Promise<void> {
  await Promise.all(files.map((f) => f.handle.close().catch(() => undefined)));
}
