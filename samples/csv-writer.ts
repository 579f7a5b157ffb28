/**
 * Streams CSV rows to a file with backpressure: rows are buffered into ~64 KB chunks and the
 * writer awaits 'drain' when the file stream is full. Fields are RFC 4180 quoted when needed.
 */
import fs from 'node:fs';
import { once } from 'node:events';

const CHUNK = 64 * 1024;
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field: null/undefined → empty; quoted when it holds a comma, quote or line break. */
export function csvField(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(fields: ReadonlyArray<string | null | undefined>): string {
  return fields.map(csvField).join(',') + '\n';
}

export class CsvFileWriter {
  private buffer = '';
  private rows = 0;

  private constructor(private readonly stream: fs.WriteStream) {}

  /** Opens (truncates) `path` and writes the header line. */
  static async open(path: string, header: readonly string[]): Promise<CsvFileWriter> {
    const stream = fs.createWriteStream(path, { encoding: 'utf8' });
    await once(stream, 'open');
    const writer = new CsvFileWriter(stream);
    writer.buffer = csvLine(header);
    return writer;
  }

  /** Writes one row of fields (quoted as needed). */
  async row(fields: ReadonlyArray<string | null | undefined>): Promise<void> {
    return this.raw(csvLine(fields));
  }

  /** Writes one already-encoded line (must end with '\n'), e.g. a deliberately malformed row. */
  async raw(line: string): Promise<void> {
    this.buffer += line;
    this.rows++;
    if (this.buffer.length >= CHUNK) await this.flush();
  }

  get rowsWritten(): number {
    return this.rows;
  }

  private async flush(): Promise<void> {
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** Flushes the rest and closes the file; resolves when it is on disk (closed). */
  async close(): Promise<void> {
    if (this.buffer.length > 0) await this.flush();
    this.stream.end();
    await once(this.stream, 'close');
  }
}
