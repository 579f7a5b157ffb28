import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from './temp-dirs.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the samples CLI; `until` (optional) stops it once stdout matches. */
function cli(args: string[], until?: RegExp): Promise<Run & { stdoutMatch?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['samples/cli.ts', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += String(d);
      if (until?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('samples CLI', () => {
  const tmpDir = useTempDir('cli');

  it('generates W1 files and prints one JSON summary line', async () => {
    const run = await cli(['w1', '--dir', tmpDir(), '--seed', '3', '--size', '30', '--days', '2', '--start', '2025-01-31']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ workload: 'w1_customer_ratings', seed: 3, size: 30, days: 2 });
    const files = await fs.readdir(tmpDir());
    expect(files).toEqual(expect.arrayContaining(['acme_20250131.csv', 'initech_20250201.csv', 'truth.json']));
  });

  it.each([
    [['w1', '--dir', '/tmp/tributary-samples-never-written', '--size', 'abc'], /--size/],
    [['w1', '--size', '10'], /--dir/],
    [['w2', '--dir', '/tmp/tributary-samples-never-written', '--start', '2025-02-30'], /startDate/],
    [['w9'], /unknown command/],
    [[], /missing command/],
  ])('exits 2 with one clear line for bad arguments: %j', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('serves the fake API until stopped', async () => {
    const run = await cli(['w4-api', '--port', '0', '--records', '10'], /"url"/);
    const { url } = JSON.parse(run.stdout.trim().split('\n')[0]) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(run.code).toBe(0); // stopped by SIGTERM, closed cleanly
  });
});
