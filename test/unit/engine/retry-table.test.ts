/** The one retry table: which thrown values a task's `retries` apply to. */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isInfrastructure, isRetryable, TributaryError, type ErrorCode } from '../../../engine/errors.ts';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

/** Codes a retry cannot change: bad definitions, arguments and lookups, and verdicts on committed data. */
const PERMANENT: ErrorCode[] = [
  'DAG_INVALID', 'DAG_NOT_FOUND', 'CONFIG_INVALID', 'OPTIONS_INVALID', 'IDENTIFIER_INVALID', 'ARGUMENT_INVALID',
  'RUN_NOT_FOUND', 'TASK_NOT_FOUND', 'JOB_KIND_UNKNOWN', 'JOB_KIND_INVALID', 'PATH_OUTSIDE_ROOT',
  'CHECK_FAILED', 'RECONCILE_FAILED', 'SENSOR_TIMEOUT', 'SOURCE_MALFORMED', 'SOURCE_REJECTED',
];

describe('isRetryable', () => {
  it('file errors, missing tables and malformed pages are retried; definitions and paths outside the roots are not', () => {
    const fileCodes = Object.keys(ERROR_CODES).filter((c) => c.startsWith('FILE_')) as ErrorCode[];
    expect(fileCodes.length).toBeGreaterThanOrEqual(7);
    for (const code of [...fileCodes, 'REJECT_LIMIT_EXCEEDED', 'ACCOUNTING_MISMATCH', 'TABLE_NOT_FOUND', 'COLUMN_NOT_FOUND', 'PAGE_MALFORMED', 'TASK_FAILED'] as ErrorCode[]) {
      expect(isRetryable(new TributaryError(code, 'x')), code).toBe(true);
    }
    for (const code of PERMANENT) expect(isRetryable(new TributaryError(code, 'x')), code).toBe(false);
  });

  it('any SQLSTATE is retried except class 42 (the statement is wrong), whose missing objects, privileges and duplicates are', () => {
    for (const code of ['23505', '23503', '23514', '22P02', '22003', '22009', '40001', '08006', '53300', '57014', 'XX000', '3F000', '0A000']) {
      expect(isRetryable(pgError(code)), code).toBe(true);
    }
    for (const code of ['42601', '42804', '42702', '42P18', '42622']) expect(isRetryable(pgError(code)), code).toBe(false);
    for (const code of ['42P01', '42703', '42883', '42704', '42501', '42P06', '42P07', '42710']) expect(isRetryable(pgError(code)), code).toBe(true);
  });

  it('file system and unknown errors are retried', () => {
    for (const code of ['ENOENT', 'EACCES', 'EISDIR', 'EMFILE', 'ECONNRESET']) expect(isRetryable(pgError(code)), code).toBe(true);
    expect(isRetryable(new TypeError('x is undefined'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
    expect(isRetryable(null)).toBe(true);
  });

  it('infrastructure stays apart: a constraint violation is the task\'s own failure', () => {
    expect(isInfrastructure(pgError('23505'))).toBe(false);
    expect(isInfrastructure(pgError('40P01'))).toBe(true);
    expect(isInfrastructure(new TributaryError('FILE_NOT_FOUND', 'x'))).toBe(false);
  });
});
