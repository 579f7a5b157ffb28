/**
 * A CSV file written atomically inside a ConfinedFolder: rows stream through fast-csv's formatter
 * into a hidden temp file created in that folder's handle (sha256 and bytes counted on the way),
 * fsync, then `commit()` renames it over the target and fsyncs the folder — a reader sees the old
 * file or the new one, never half of one. Where the file really is gets checked after writing and
 * before and after the rename; a file found outside the data roots is removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import type fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { format, type CsvFormatterStream } from 'fast-csv';
import { TributaryError } from '../../engine/errors.ts';
import type { ConfinedFolder } from '../confined-folder.ts';

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
  private renamed = false;
  /** Where finish() found the target will be (what the report records). */
  private target = '';

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

  /** Creates `.<name>.<random>.tmp` in `folder`, taking the folder's handle over (closed by commit or discard, or now on failure). */
  static async open(folder: ConfinedFolder, name: string, options: CsvFileOptions): Promise<AtomicCsvFile> {
    const tempName = `.${name}.${randomBytes(6).toString('hex')}.tmp`;
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
   * Ends the CSV and makes the temp file durable; the target is untouched until commit(). `path` is
   * where the target will really be (the folder's real path now), checked inside the data roots.
   */
  async finish(): Promise<WrittenFile> {
    this.csv.end();
    await this.done;
    await this.handle.sync();
    const temp = await this.folder.locate(this.handle, this.tempName);
    this.target = path.join(path.dirname(temp), this.name);
    return { path: this.target, bytes: this.bytes, sha256: this.hash.digest('hex'), rows: this.rows };
  }

  /**
   * Renames the temp file over the target (replacing it) and fsyncs the folder, checking the folder
   * before and the file after (where finish() said). On a failure the temp file is removed, and so
   * is a renamed file found outside the data roots; a renamed file inside them stays.
   */
  async commit(): Promise<void> {
    try {
      await this.folder.check();
      await this.folder.rename(this.tempName, this.name);
      this.renamed = true;
      const real = await this.folder.locate(this.handle, this.name);
      if (real !== this.target) {
        throw new TributaryError('FILE_CHANGED', `report ${this.target} is at ${real}: its folder was moved within the data roots before the rename`);
      }
    } catch (err) {
      const outside = err instanceof TributaryError && err.code === 'PATH_OUTSIDE_ROOT';
      if (!this.renamed || outside) await this.folder.remove(this.renamed ? this.name : this.tempName, this.handle);
      throw err;
    } finally {
      await this.close();
    }
  }

  /** Removes the temp file after a failure; the target keeps its previous content. */
  async discard(): Promise<void> {
    this.csv.destroy();
    await this.folder.remove(this.tempName, this.handle);
    await this.close();
  }

  private async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await this.folder.close();
  }
}
