/**
 * A CSV file written atomically: rows stream through fast-csv's formatter into a hidden temp file
 * beside the target (sha256 and bytes counted on the way), fsync, then `commit()` renames it over
 * the target and fsyncs the folder — a reader sees the old file or the new one, never half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { format, type CsvFormatterStream } from 'fast-csv';

export interface CsvFileOptions {
  columns: string[];
  header: boolean;
  delimiter: string;
}

export interface WrittenFile {
  path: string;
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
    readonly target: string,
    readonly tempPath: string,
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

  /** Opens `.<name>.<random>.tmp` in the target's folder (created if missing). */
  static async open(target: string, options: CsvFileOptions): Promise<AtomicCsvFile> {
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    const tempPath = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await fs.open(tempPath, 'wx', 0o644);
    return new AtomicCsvFile(target, tempPath, handle, options);
  }

  /** Writes one row of cell texts (already escaped), waiting when the formatter is full. */
  async write(cells: string[]): Promise<void> {
    this.rows += 1;
    if (!this.csv.write(cells)) await Promise.race([once(this.csv, 'drain'), this.done]);
  }

  /** Ends the CSV and makes the temp file durable; the target is untouched until commit(). */
  async finish(): Promise<WrittenFile> {
    this.csv.end();
    await this.done;
    await this.handle.sync();
    await this.handle.close();
    return { path: this.target, bytes: this.bytes, sha256: this.hash.digest('hex'), rows: this.rows };
  }

  /** Renames the temp file over the target (replacing it) and fsyncs the folder. */
  async commit(): Promise<void> {
    await fs.rename(this.tempPath, this.target);
    const dir = await fs.open(path.dirname(this.target), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Removes the temp file after a failure; the target keeps its previous content. */
  async discard(): Promise<void> {
    this.csv.destroy();
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.tempPath, { force: true });
  }
}
