/**
 * How `trib` fails: exactly one stderr line `trib: <CODE>: <message>` and an exit code — 2 for
 * usage (bad arguments, unknown DAG/run/task, bad config or DAG definitions), 1 for runtime errors. Never a stack.
 */
import { CommanderError } from 'commander';
import { TributaryError, type ErrorCode } from '../engine/errors.ts';

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'ARGUMENT_INVALID', 'CONFIG_INVALID', 'DAG_INVALID', 'DAG_NOT_FOUND', 'RUN_NOT_FOUND', 'TASK_NOT_FOUND', 'BACKFILL_TOO_LARGE', 'RUN_EXISTS',
  'USER_NOT_FOUND', 'USER_EXISTS', 'TOKEN_NOT_FOUND',
]);

const flat = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

function messageOf(err: Error): string {
  if (err.message) return err.message;
  const inner = (err as Error & { errors?: unknown[] }).errors?.[0]; // AggregateError (e.g. connect to ::1 and 127.0.0.1)
  return inner instanceof Error ? inner.message : err.name;
}

/** The one line for `err` and the exit code; null line when commander already printed help. */
export function describeFailure(err: unknown): { line: string | null; exitCode: number } {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0 || err.code === 'commander.help' || err.code === 'commander.helpDisplayed') {
      return { line: null, exitCode: err.exitCode === 0 ? 0 : 2 };
    }
    return { line: `USAGE: ${flat(err.message.replace(/^error:\s*/, ''))}`, exitCode: 2 };
  }
  if (err instanceof TributaryError) {
    return { line: `${err.code}: ${flat(err.message)}`, exitCode: USAGE_CODES.has(err.code) ? 2 : 1 };
  }
  if (err instanceof Error) {
    const pg = err as Error & { code?: unknown; detail?: string };
    const code = typeof pg.code === 'string' && pg.code ? pg.code : 'ERROR';
    const detail = pg.detail ? ` (${pg.detail})` : '';
    return { line: `${code}: ${flat(messageOf(err))}${detail}`, exitCode: 1 };
  }
  return { line: `ERROR: ${flat(String(err))}`, exitCode: 1 };
}

/** Prints the failure line (if any) and returns the exit code. */
export function reportFailure(err: unknown): number {
  const { line, exitCode } = describeFailure(err);
  if (line !== null) process.stderr.write(`trib: ${line}\n`);
  return exitCode;
}
