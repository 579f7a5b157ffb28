/** Test assertion for `trib` runs (kept apart from cli.ts, which benchmarks import outside vitest). */
import { expect } from 'vitest';
import type { CliResult } from './cli.ts';

/** A command that succeeded: exit 0, nothing on stderr; returns its stdout. */
export function ok(r: CliResult): string {
  expect(r.stderr, r.stdout).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}
