/**
 * The test run's temp-folder guard (test/support/run-temp-dir.ts): while in use, os.tmpdir() is its
 * folder; finish() restores TMPDIR, removes the folder, and throws naming what was left (tool caches
 * aside).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { sweepDeadRuns, useRunTempDir } from '../support/run-temp-dir.ts';

it('finish() passes when nothing is left but a tool cache, and restores TMPDIR', async () => {
  const before = os.tmpdir();
  const temp = await useRunTempDir();
  expect(os.tmpdir()).toBe(temp.dir);
  expect(path.dirname(temp.dir)).toBe(before);
  await fs.mkdir(path.join(temp.dir, 'tsx-0'));
  const made = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-x-'));
  await fs.rm(made, { recursive: true });
  await temp.finish();
  expect(os.tmpdir()).toBe(before);
  await expect(fs.stat(temp.dir)).rejects.toMatchObject({ code: 'ENOENT' });
});

it('finish() throws naming each leftover with its size, and still removes the folder', async () => {
  const temp = await useRunTempDir();
  const left = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-pg-'));
  await fs.writeFile(path.join(left, 'big'), Buffer.alloc(3 << 10));
  await fs.writeFile(path.join(os.tmpdir(), 'stray.csv'), 'a\n');
  const error = await temp.finish().then(() => null, (err: unknown) => err);
  expect(String(error)).toMatch(new RegExp(`left 2 entries in its temp folder .*: stray\\.csv \\(0 KiB\\), ${path.basename(left)} \\(3 KiB\\)`));
  await expect(fs.stat(temp.dir)).rejects.toMatchObject({ code: 'ENOENT' });
});

it('the next run removes the folders of killed runs (owner gone), never a live or unowned one', async () => {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'sweep-'));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its pid names no process now
  const make = async (name: string, owner: string | null) => {
    await fs.mkdir(path.join(parent, name, 'tributary-pg-x'), { recursive: true });
    if (owner !== null) await fs.writeFile(path.join(parent, name, 'owner.pid'), owner);
  };
  await make('tributary-test-run-dead', String(dead));
  await make('tributary-test-run-live', String(process.pid));
  await make('tributary-test-run-unowned', null);
  await make('other-dead', String(dead));
  expect(await sweepDeadRuns(parent)).toEqual(['tributary-test-run-dead']);
  expect((await fs.readdir(parent)).sort()).toEqual(['other-dead', 'tributary-test-run-live', 'tributary-test-run-unowned']);
  await fs.rm(parent, { recursive: true });
});
