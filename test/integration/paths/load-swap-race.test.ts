/**
 * Swapped symlinks cannot lead a load outside the data roots (issue 16 §1, the read side): a child
 * process flips a file link and a folder link inside the root between an inside target and an
 * outside one, as fast as it can, while 120 loads run through the real load handler. The outside
 * files carry a sentinel value: no row of them may ever be in the target, the audit table or the
 * ledger, and every load either loads the inside file (its real path in the ledger) or fails
 * PATH_OUTSIDE_ROOT. The name check alone (confinePath) lets sentinel rows through: the open handle
 * is what is checked (openConfined).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { query, runLoad } from '../load/helpers.ts';

const ROWS = 50;
const csv = (name: string) => `id,name\n${Array.from({ length: ROWS }, (_, i) => `${i + 1},${name}-${i + 1}`).join('\n')}\n`;

/** Flips `link` between `a` and `b` (atomic rename of a fresh symlink) until killed. */
const FLIPPER = `
const fs = require('node:fs');
const [link, a, b] = process.argv.slice(1);
for (let i = 0; ; i++) {
  const tmp = link + '.flip';
  try { fs.unlinkSync(tmp); } catch {}
  fs.symlinkSync(i % 2 ? a : b, tmp);
  fs.renameSync(tmp, link);
}`;

let database: TestDatabase;
let base: string;
let root: string;
let outside: string;
const flippers: ChildProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trib-swap-')));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  await fs.mkdir(path.join(root, 'in'), { recursive: true });
  await fs.mkdir(outside);
  await fs.writeFile(path.join(root, 'in', 'data.csv'), csv('inside'));
  await fs.writeFile(path.join(outside, 'data.csv'), csv('SENTINEL'));
  await fs.symlink(path.join(root, 'in', 'data.csv'), path.join(root, 'file-link.csv'));
  await fs.symlink(path.join(root, 'in'), path.join(root, 'dir-link'));
  const flip = (link: string, a: string, b: string) => flippers.push(spawn(process.execPath, ['-e', FLIPPER, link, a, b], { stdio: 'ignore' }));
  flip(path.join(root, 'file-link.csv'), path.join(root, 'in', 'data.csv'), path.join(outside, 'data.csv'));
  flip(path.join(root, 'dir-link'), path.join(root, 'in'), outside);
});
afterAll(async () => {
  for (const f of flippers) f.kill('SIGKILL');
  await database?.drop();
  await fs.rm(base, { recursive: true, force: true });
});

describe('load: symlinks swapped during the load (read side)', () => {
  it('120 loads racing two flippers: 0 outside rows anywhere; each load is the inside file or PATH_OUTSIDE_ROOT', async () => {
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 120; i++) {
      const file = path.join(root, i % 2 === 0 ? 'file-link.csv' : path.join('dir-link', 'data.csv'));
      const options = { source: { file }, target: 'swapped', mode: 'append' as const, force: true,
        columns: [{ name: 'id', type: 'integer' as const }, { name: 'name', type: 'text' as const }] };
      const outcome = await runLoad(database, options, { dataRoots: [root], runId: String(i + 1) })
        .then((r) => (r.rows_loaded === ROWS ? 'loaded' : `loaded ${r.rows_loaded}`), (e: unknown) => (e as { code?: string }).code ?? String(e));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    const sentinel = await query<{ target: number; ledger: number; audit: number }>(database, `SELECT
      (SELECT count(*)::int FROM swapped WHERE name LIKE 'SENTINEL%') AS target,
      (SELECT count(*)::int FROM load_ledger WHERE path NOT LIKE $1) AS ledger,
      (SELECT count(*)::int FROM audit.swapped_rejects) AS audit`, [`${root}/%`]);
    expect(sentinel).toEqual([{ target: 0, ledger: 0, audit: 0 }]);
    expect([...outcomes.keys()].sort()).toEqual(['PATH_OUTSIDE_ROOT', 'loaded']);
    const [{ n }] = await query<{ n: number }>(database, `SELECT count(*)::int AS n FROM swapped WHERE name LIKE 'inside-%'`);
    expect(n).toBe(ROWS * (outcomes.get('loaded') ?? 0));
    const [{ paths }] = await query<{ paths: string[] }>(database, 'SELECT array_agg(DISTINCT path) AS paths FROM load_ledger');
    expect(paths).toEqual([path.join(root, 'in', 'data.csv')]); // the real path, not the link
  });
});
