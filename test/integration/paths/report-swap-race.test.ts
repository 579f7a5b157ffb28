/**
 * Report folders swapped while reports are written: a child process flips symlinks (the report
 * folder itself, and a folder above new report folders) between a folder inside the data root and
 * one outside, as fast as it can, while 60 report runs go through the real engine. Nothing may ever
 * appear outside (watched during the race, listed after); every task fails with a clear code and
 * records nothing, or succeeds with its file inside the root, its content and sha256 as recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { isWithin } from '../../../jobs/paths.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const RUNS = 60;

/** argv: triples (link, inside target, outside target); points each link at one of its targets by chance, renaming a fresh symlink over it, until SIGTERM. */
const FLIPPER = `
const fs = require('node:fs');
const pause = new Int32Array(new SharedArrayBuffer(4));
const args = process.argv.slice(1);
const links = [];
for (let i = 0; i < args.length; i += 3) links.push({ link: args[i], targets: [args[i + 1], args[i + 2]] });
let flips = 0;
process.on('SIGTERM', () => { process.stdout.write(String(flips), () => process.exit(0)); });
setTimeout(() => process.exit(2), 120000).unref();
(function loop() {
  for (let k = 0; k < 16; k++) {
    for (const l of links) {
      fs.rmSync(l.link + '.flip', { force: true });
      fs.symlinkSync(l.targets[Math.random() < 0.5 ? 0 : 1], l.link + '.flip');
      fs.renameSync(l.link + '.flip', l.link);
      flips++;
    }
    Atomics.wait(pause, 0, 0, Math.random());
  }
  setImmediate(loop); // lets SIGTERM in
})();
`;

interface Outcome {
  state: string;
  error_code: string | null;
  result: { path: string; sha256: string; rows: number } | null;
}

async function listing(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).sort();
}

describe('report folders swapped during reports (redis)', () => {
  let base: string;
  let root: string;
  let outside: string;
  let t: TestEngine;
  const seen: string[] = [];
  const watchers: FSWatcher[] = [];
  let flipper: ChildProcess;

  beforeAll(async () => {
    base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trib-swap-')));
    root = path.join(base, 'root');
    outside = path.join(base, 'outside');
    for (const dir of ['root/real', 'root/box-real/reports', 'outside/flip', 'outside/box/reports']) {
      await fs.mkdir(path.join(base, dir), { recursive: true });
    }
    await fs.symlink(path.join(root, 'real'), path.join(root, 'flip'));
    await fs.symlink(path.join(root, 'box-real'), path.join(root, 'box'));
    for (const dir of ['', 'flip', 'box', 'box/reports']) {
      watchers.push(watch(path.join(outside, dir), (event, name) => seen.push(`${event} ${dir}/${name}`)));
    }
    t = await startTestEngine({
      backend: 'redis',
      dataRoots: [root],
      dags: [defineDag({
        id: 'swapped',
        params: { dir: z.string() },
        tasks: { report: { kind: 'report', options: { query: 'SELECT :run_id AS run_id, :param_dir AS dir', outputDir: '{params.dir}', fileName: 'r_{yyyymmdd}.csv' } } },
      })],
    });
  });
  afterAll(async () => {
    if (flipper?.exitCode === null) flipper.kill('SIGKILL');
    for (const w of watchers) w.close();
    await t?.close();
    if (base) await fs.rm(base, { recursive: true, force: true });
  });

  it(`${RUNS} reports racing a folder flipper: 0 files outside, each task failed clearly or wrote its file inside`, async () => {
    flipper = spawn(process.execPath, [
      '-e', FLIPPER, '--',
      path.join(root, 'flip'), path.join(root, 'real'), path.join(outside, 'flip'),
      path.join(root, 'box'), path.join(root, 'box-real'), path.join(outside, 'box'),
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    let flips = '';
    flipper.stdout!.on('data', (d: Buffer) => (flips += d.toString()));
    const exited = new Promise((resolve) => flipper.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 100));

    // Even runs write into the flipped folder itself; odd ones make a new folder under a flipped one.
    const dirs = Array.from({ length: RUNS }, (_, i) => (i % 2 === 0 ? path.join(root, 'flip') : path.join(root, 'box', 'reports', `d${i}`)));
    const runIds: number[] = [];
    for (const [i, dir] of dirs.entries()) {
      const day = new Date(Date.UTC(2025, 0, 1 + i)).toISOString().slice(0, 10);
      runIds.push((await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('swapped')!, { date: day, params: { dir } })).runId);
    }
    for (const runId of runIds) await t.waitForRun(runId, 60_000);
    flipper.kill('SIGTERM');
    await exited;
    expect(Number(flips)).toBeGreaterThan(RUNS);

    expect(seen).toEqual([]);
    expect(await listing(outside)).toEqual(['box', 'box/reports', 'flip']);

    const { rows } = await t.database.pool.query<Outcome & { run_id: number; recorded: string | null; recorded_sha: string | null }>(
      `SELECT ti.run_id, ti.state, ti.error_code, ti.result, r.path AS recorded, r.sha256 AS recorded_sha
         FROM task_instances ti LEFT JOIN reports r ON r.run_id = ti.run_id
        WHERE ti.run_id = ANY($1) ORDER BY ti.run_id`,
      [runIds],
    );
    expect(rows).toHaveLength(RUNS);
    const codes: Record<string, number> = {};
    for (const row of rows) {
      const dir = dirs[runIds.indexOf(row.run_id)];
      if (row.state === 'failed') {
        codes[row.error_code ?? 'none'] = (codes[row.error_code ?? 'none'] ?? 0) + 1;
        expect(['PATH_OUTSIDE_ROOT', 'FILE_CHANGED']).toContain(row.error_code);
        expect(row.recorded).toBeNull();
        continue;
      }
      codes.success = (codes.success ?? 0) + 1;
      expect(row.state).toBe('success');
      const file = row.result!.path;
      expect(isWithin(file, root)).toBe(true);
      expect(row.recorded).toBe(file);
      const bytes = await fs.readFile(file);
      expect(bytes.toString()).toBe(`run_id,dir\n${row.run_id},${dir}\n`);
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect([row.result!.sha256, row.recorded_sha]).toEqual([sha, sha]);
    }
    // The race was on: some reports opened the outside folder and were refused, some wrote inside.
    expect(codes.success).toBeGreaterThan(0);
    expect(codes.PATH_OUTSIDE_ROOT).toBeGreaterThan(0);
    // No temp file left behind: each report was renamed into place or removed.
    expect((await listing(root)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    console.log(`swap race: ${JSON.stringify(codes)}, ${flips.trim()} flips`);
  });
});
