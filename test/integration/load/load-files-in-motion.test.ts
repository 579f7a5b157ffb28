/**
 * Files in motion (issue 16 §2): a file still being written — appended in chunks that cut rows
 * anywhere, as an SFTP upload or a copy does — is never loaded half. The real sensor takes the file,
 * the real load handler runs on what the sensor returned: a file that changed since fails the load
 * (FILE_CHANGED, nothing loaded), one that changes while it is read too; `fileChanged: 'wait'` waits
 * for it to hold still and loads every row of the final file. Every loaded row is checked against
 * the file's own rows (status = `status-<number>`), so a cut row cannot hide.
 */
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../../engine/types.ts';
import { sensorKind, sensorOptions } from '../../../jobs/sensor/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { makeTaskContext } from '../../support/task-context.ts';
import { countIfExists, query, RATING_COLUMNS, RATING_HEADER, runLoad, tempDir } from './helpers.ts';

let database: TestDatabase;
let dir: string;
beforeAll(async () => {
  database = await createTestDatabase();
  dir = await tempDir('motion');
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

const row = (n: number) => `${n},${n % 50},100,status-${n}\n`;

/**
 * Appends rows `from`..`to` to `file` in chunks of `chunkBytes` (cutting rows anywhere) every
 * `everyMs`; resolves when all is written.
 */
async function writeSlowly(file: string, from: number, to: number, chunkBytes: number, everyMs: number): Promise<void> {
  let text = '';
  for (let n = from; n <= to; n++) text += row(n);
  for (let at = 0; at < text.length; at += chunkBytes) {
    await fs.appendFile(file, text.slice(at, at + chunkBytes));
    await sleep(everyMs);
  }
}

/** The sensor's result for `dir` (stableForMs 0: it takes the file at once), via the real handler. */
async function sense(folder: string, pattern: string): Promise<Json[]> {
  const options = sensorOptions.parse({ dir: folder, pattern, pokeIntervalMs: 10, timeoutMs: 5000 });
  const client = await database.pool.connect();
  try {
    const out = (await sensorKind.handler(makeTaskContext(client), options)) as { files: Json[] };
    return out.files;
  } finally {
    client.release();
  }
}

/** Loaded rows that are not a whole row of the file, and the loaded count. */
async function loadedRows(table: string): Promise<{ rows: number; cut: number }> {
  if ((await countIfExists(database, table)) === 0) return { rows: 0, cut: 0 };
  const [r] = await query<{ rows: number; cut: number }>(database,
    `SELECT count(*)::int AS rows, count(*) FILTER (WHERE customer_status <> 'status-' || customer_number)::int AS cut FROM ${table}`);
  return r;
}

const loadOptions = (target: string, extra: object = {}) => ({
  source: { fromUpstream: { task: 'files' } }, target, columns: RATING_COLUMNS, mode: 'append' as const, ...extra,
});

describe('load: files still being written', () => {
  it('a file appended after the sensor took it fails the load: FILE_CHANGED, nothing loaded', async () => {
    const folder = await fs.mkdtemp(`${dir}/after-sensor-`);
    const file = `${folder}/ratings_1.csv`;
    await fs.writeFile(file, RATING_HEADER + '\n' + row(1) + row(2) + '3,1,100,sta');
    const [item] = await sense(folder, '^ratings_.*\\.csv$');
    await fs.appendFile(file, 'tus-3\n' + row(4));
    const err = await runLoad(database, loadOptions('after_sensor'), { mapIndex: 0, mapItem: item }).then(() => null, (e: unknown) => e as { code?: string; message: string });
    expect(err?.code).toBe('FILE_CHANGED');
    expect(err?.message).toMatch(/changed since the sensor took it \(\d+ → \d+ bytes.*stableForMs/);
    expect(await loadedRows('after_sensor')).toEqual({ rows: 0, cut: 0 });
  });

  it('a file appended while it is read fails the load: FILE_CHANGED, nothing loaded', async () => {
    const file = `${dir}/growing_during_load.csv`;
    let body = RATING_HEADER + '\n';
    for (let n = 1; n <= 200_000; n++) body += row(n); // several MB: many read chunks
    await fs.writeFile(file, body);
    // The writer starts with the load and goes on until the load has ended.
    let loading = true;
    const writer = (async () => {
      for (let n = 200_001; loading; n++) {
        await fs.appendFile(file, row(n).slice(0, 7));
        await sleep(5);
      }
    })();
    const err = await runLoad(database, { source: { file }, target: 'during_load', columns: RATING_COLUMNS })
      .then(() => null, (e: unknown) => e as { code?: string; message: string });
    loading = false;
    await writer;
    expect(err?.code).toBe('FILE_CHANGED');
    expect(err?.message).toMatch(/changed while it was (being loaded|being hashed)/);
    expect(await loadedRows('during_load')).toEqual({ rows: 0, cut: 0 });
  });

  it("fileChanged 'wait' waits until the file holds still, then loads every row of the final file", async () => {
    const folder = await fs.mkdtemp(`${dir}/wait-`);
    const file = `${folder}/ratings_1.csv`;
    await fs.writeFile(file, RATING_HEADER + '\n');
    const writing = writeSlowly(file, 1, 1025, 997, 20); // ~30 KB in ~30 chunks over ~0.7 s
    await sleep(60);
    const [item] = await sense(folder, '^ratings_.*\\.csv$');
    const result = await runLoad(database, loadOptions('waited', { fileChanged: 'wait', fileStableMs: 400 }), { mapIndex: 0, mapItem: item });
    await writing;
    const finalRows = (await fs.readFile(file, 'utf8')).split('\n').filter((l) => /^\d+,/.test(l)).length;
    expect(finalRows).toBe(1025);
    expect(result).toMatchObject({ rows_read: 1025, rows_loaded: 1025, rows_rejected: 0 });
    expect(await loadedRows('waited')).toEqual({ rows: 1025, cut: 0 });
  });

  it('20 loads racing a writer that cuts rows anywhere: no cut row is ever loaded', async () => {
    let loads = 0;
    let changed = 0;
    for (let trial = 0; trial < 20; trial++) {
      const folder = await fs.mkdtemp(`${dir}/race-${trial}-`);
      const file = `${folder}/ratings_1.csv`;
      await fs.writeFile(file, RATING_HEADER + '\n');
      const writing = writeSlowly(file, 1, 400, 101 + trial * 13, 3);
      await sleep(trial * 3);
      const [item] = await sense(folder, '^ratings_.*\\.csv$');
      const target = `race_${trial}`;
      const outcome = await runLoad(database, { ...loadOptions(target), allowEmpty: true }, { mapIndex: 0, mapItem: item })
        .then(() => 'loaded', (e: unknown) => (e as { code?: string }).code);
      await writing;
      if (outcome === 'loaded') loads++;
      else {
        expect(outcome).toBe('FILE_CHANGED');
        changed++;
      }
      const { cut } = await loadedRows(target);
      expect(cut, `trial ${trial}: rows cut by the writer were loaded`).toBe(0);
    }
    expect(loads + changed).toBe(20);
    expect(changed).toBeGreaterThan(0);
  });
});
