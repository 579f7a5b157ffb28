/**
 * One `COPY … FROM STDIN` (CSV, the file's delimiter and quote, '' = NULL) on the task's client, with backpressure: `write()` resolves
 * when the socket has taken the data; a server error (constraint, type) rejects the next call.
 * After a server error the stream is left alone (pg-copy-streams must not be written or ended).
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const QUEUE_BYTES = 4 << 20;

/** One character as an SQL string literal (validated single characters from the options). */
const sqlChar = (c: string) => `'${c.replace(/'/g, "''")}'`;

export class CopyWriter {
  private error: Error | null = null;
  private closed = false;

  private constructor(private readonly stream: ReturnType<typeof copyFrom>) {
    stream.on('error', (err: Error) => {
      this.error ??= err;
    });
  }

  /** Starts `COPY <table> (<columns>) FROM STDIN`; table and columns must be quoted already. */
  static open(client: pg.PoolClient, table: string, columns: string[], dialect: { delimiter: string; quote: string }): CopyWriter {
    const d = sqlChar(dialect.delimiter);
    const q = sqlChar(dialect.quote);
    const sql = `COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv, DELIMITER ${d}, QUOTE ${q}, ESCAPE ${q}, NULL '')`;
    // A few MB may queue ahead of the socket, so parsing the next chunk overlaps the server's work.
    const stream = copyFrom(sql, { highWaterMark: QUEUE_BYTES });
    return new CopyWriter(client.query(stream));
  }

  async write(data: Buffer): Promise<void> {
    if (this.error) throw this.error;
    if (!this.stream.write(data)) {
      if (this.error) throw this.error;
      await once(this.stream, 'drain');
    }
  }

  /** Ends the COPY and returns the row count the server reports. */
  async finish(): Promise<number> {
    if (this.error) throw this.error;
    this.closed = true;
    this.stream.end();
    await finished(this.stream);
    if (this.error) throw this.error;
    return this.stream.rowCount;
  }

  /** Abandons the COPY (CopyFail) when the load fails for a reason of its own. */
  abort(reason: Error): void {
    if (this.closed || this.error) return;
    this.closed = true;
    this.stream.destroy(reason);
  }
}
