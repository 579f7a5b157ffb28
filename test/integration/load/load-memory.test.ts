import fs from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { count, runLoad } from './helpers.ts';

const ROWS = 520_000;
let database: TestDatabase;
let file: string;

/** ~200 MB: wide rows (a 360-character text column), a bad row every 10,000. */
async function writeBigFile(target: string): Promise<void> {
  const out = fs.createWriteStream(target);
  out.write('id,amount,day,note\n');
  const pad = 'lorem ipsum dolor sit amet, '.repeat(13);
  let chunk = '';
  for (let i = 1; i <= ROWS; i++) {
    chunk += i % 10_000 === 0 ? `${i},oops,2025-01-01,"x"\n` : `${i},${i % 9973}.25,2025-05-${String(1 + (i % 28)).padStart(2, '0')},"${pad}${i}"\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

beforeAll(async () => {
  database = await createTestDatabase();
  file = path.join(os.tmpdir(), `trib-load-200mb-${process.pid}.csv`);
  await writeBigFile(file);
  await database.pool.query('CREATE UNLOGGED TABLE public.big (id integer, amount numeric(12,2), day date, note text)');
}, 120_000);
afterAll(async () => {
  await database.drop();
  await fs.promises.rm(file, { force: true });
});

describe('load: memory', () => {
  it('loads a 200 MB file with bounded RSS growth', async () => {
    const bytes = fs.statSync(file).size;
    expect(bytes).toBeGreaterThan(200e6);
    global.gc?.();
    const before = process.memoryUsage.rss();
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    try {
      const result = await runLoad(database, {
        source: { file }, target: 'big',
        columns: [
          { name: 'id', type: 'integer' }, { name: 'amount', type: 'numeric', precision: 12, scale: 2 },
          { name: 'day', type: 'date' }, { name: 'note', type: 'text' },
        ],
      });
      expect(result).toMatchObject({ rows_read: ROWS, rows_loaded: ROWS - 52, rows_rejected: 52 });
    } finally {
      clearInterval(timer);
    }
    const growthMb = (peak - before) / 2 ** 20;
    console.log(`200 MB load: RSS ${Math.round(before / 2 ** 20)} MB → peak ${Math.round(peak / 2 ** 20)} MB (+${Math.round(growthMb)} MB)`);
    expect(growthMb).toBeLessThan(120); // the file is ~200 MB: memory does not follow its size
    expect(await count(database, 'big')).toBe(ROWS - 52);
  }, 300_000);
});
