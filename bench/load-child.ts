/**
 * One measured run in its own process (so maxRSS is this run's peak): `load` runs the load job
 * handler in a transaction; `copy` streams the file straight into `COPY … CSV` (no validation).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { drizzle } from 'drizzle-orm/node-postgres';
import { from as copyFrom } from 'pg-copy-streams';
import { pino } from 'pino';
import { connect } from '../db/client.ts';
import { AfterCommit } from '../engine/after-commit.ts';
import { loadOptions, runLoad } from '../jobs/load/index.ts';
import { BENCH_COLUMNS } from './load-data.ts';

export async function runChild([mode, url, file, table, encoding]: string[]) {
  // The engine's own connection settings (its schema first on the search_path), as a worker's try has.
  const database = connect(url, { max: 1 });
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const started = performance.now();
    let counts = { rows_read: 0, rows_loaded: 0, rows_rejected: 0 };
    if (mode === 'copy') {
      const stream = client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT csv, HEADER true)`));
      await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), stream);
      counts = { rows_read: stream.rowCount, rows_loaded: stream.rowCount, rows_rejected: 0 };
    } else {
      const options = loadOptions.parse({ source: { file }, target: table, columns: BENCH_COLUMNS, key: ['item_id'], csv: { encoding: encoding ?? 'utf-8' } });
      const logicalDate = new Date('2025-05-13T00:00:00Z');
      const result = await runLoad(
        {
          dagId: 'bench', runId: '1', taskId: 'load', mapIndex: -1, tryNumber: 1, logicalDate,
          dataInterval: { start: logicalDate, end: logicalDate }, params: {}, upstream: {}, dataRoots: [path.dirname(file)],
          log: pino({ level: 'silent' }), client, db: drizzle(client),
          signal: new AbortController().signal,
          ...new AfterCommit(client, { taskInstanceId: null, tryNumber: 1, dataRoots: [] }).context(), // a load registers none
        },
        options,
      );
      counts = result;
    }
    await client.query('COMMIT');
    const seconds = (performance.now() - started) / 1000;
    return {
      seconds,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      rows_read: counts.rows_read,
      rows_loaded: counts.rows_loaded,
      rows_rejected: counts.rows_rejected,
    };
  } finally {
    client.release();
    await database.close();
  }
}
