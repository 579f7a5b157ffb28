/**
 * db/embedded.ts cleans up after itself: a non-persistent server's data directory is gone once
 * stop() returns, wherever it was placed (as root, under a folder the `postgres` user cannot enter,
 * it is moved to the temp folder), and stop() returns at once for a postmaster that was killed.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../db/embedded.ts';

let parent: string | undefined;
let server: EmbeddedServer | undefined;
afterAll(async () => {
  await server?.stop();
  if (parent) await fs.rm(parent, { recursive: true, force: true });
});

it('a killed non-persistent server: stop() returns at once and removes its data dir', { timeout: 60_000 }, async () => {
  parent = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-embedded-')); // 0700: as root the data moves to tmp
  server = await startEmbeddedPostgres({ dataDir: path.join(parent, 'data'), persistent: false, durable: false });
  if (process.getuid?.() === 0) expect(path.dirname(server.dataDir)).toBe(os.tmpdir()); // moved: the case that leaked
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
  await client.end();

  const pid = Number((await fs.readFile(path.join(server.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  process.kill(pid, 'SIGKILL');
  for (let gone = false; !gone; await new Promise((r) => setTimeout(r, 50))) {
    try {
      process.kill(pid, 0);
    } catch {
      gone = true;
    }
  }
  const started = Date.now();
  await server.stop();
  expect(Date.now() - started).toBeLessThan(5_000);
  await expect(fs.stat(server.dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
});
