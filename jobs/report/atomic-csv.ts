/**
 * A CSV file written for an atomic replace inside a ConfinedFolder: rows stream through fast-csv's
 * formatter into a hidden temp file (engine/file-moves.ts tempNameFor) created in that folder's
 * handle (sha256 and bytes counted on the way), then fsync. The rename over the target is the
 * engine's, after the try's COMMIT (ctx.renameAfterCommit): a reader sees the old file or the new
 * one, never half of one. Where the temp file really is gets checked after writing.
 */
import { createHash } from 'node:crypto';
import type fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { format, type CsvFormatterStream } from 'fast-csv';
import { tempNameFor } from '../../engine/file-moves.ts';
import type { ConfinedFolder } from '../confined-folder.ts';

export interface CsvFileOptions {
  columns: string[];
  header: boolean;
  delimiter: string;
}

export interface WrittenFile {
  /** Where the target will be (the folder's real path now), inside the data roots. */
  path: string;
  /** The written temp file beside it: what ctx.renameAfterCommit renames. */
  tempPath: string;
  bytes: number;
  sha256: string;
  rows: number;
}

export class AtomicCsvFile {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private rows = 0;
  private readonly csv: CsvFormatterStream<string[], string[]>;
  private readonly done: Promise<void>;

  private constructor(
    private readonly folder: ConfinedFolder,
    readonly name: string,
    readonly tempName: string,
    private readonly handle: fs.FileHandle,
    options: CsvFileOptions,
  ) {
    this.csv = format<string[], string[]>({
      headers: options.columns,
      writeHeaders: options.header,
      alwaysWriteHeaders: options.header,
      delimiter: options.delimiter,
      includeEndRowDelimiter: true,
    });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        handle.write(chunk).then(() => callback(), callback);
      },
    });
    this.done = pipeline(this.csv, sink);
    this.done.catch(() => undefined); // surfaced by finish()
  }

  /** Creates `.<name>.<random>.tmp` in `folder`, taking the folder's handle over (closed by close or discard, or now on failure). */
  static async open(folder: ConfinedFolder, name: string, options: CsvFileOptions): Promise<AtomicCsvFile> {
    const tempName = tempNameFor(name);
    const handle = await folder.create(tempName).catch(async (err: unknown) => {
      await folder.close();
      throw err;
    });
    return new AtomicCsvFile(folder, name, tempName, handle, options);
  }

  /** Writes one row of cell texts (already escaped), waiting when the formatter is full. */
  async write(cells: string[]): Promise<void> {
    this.rows += 1;
    if (!this.csv.write(cells)) await Promise.race([once(this.csv, 'drain'), this.done]);
  }

  /**
   * Ends the CSV and makes the temp file durable; the target is untouched. `path` is where the
   * target will really be and `tempPath` where the temp file is (the folder's real path now),
   * checked inside the data roots.
   */
  async finish(): Promise<WrittenFile> {
    this.csv.end();
    await this.done;
    await this.handle.sync();
    const temp = await this.folder.locate(this.handle, this.tempName);
    return { path: path.join(path.dirname(temp), this.name), tempPath: temp, bytes: this.bytes, sha256: this.hash.digest('hex'), rows: this.rows };
  }

  /** Removes the temp file after a failure; the target keeps its previous content. */
  async discard(): Promise<void> {
    this.csv.destroy();
    await this.folder.remove(this.tempName, this.handle);
    await this.close();
  }

  /** Closes the file and its folder (the temp file stays: once recorded, the engine owns it). */
  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await this.folder.close();
  }
}
