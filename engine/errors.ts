/**
 * The typed errors of Tributary. Callers decide by `code`, never by message text. A permanent
 * error fails the try without retrying; a retryable one is retried within the task's `retries`.
 */
export const ERROR_CODES = {
  // definitions and configuration — permanent
  DAG_INVALID: 'permanent',
  DAG_NOT_FOUND: 'permanent',
  CONFIG_INVALID: 'permanent',
  /** The dashboard was asked for data kept in a connection its own process does not define. */
  CONNECTION_UNDEFINED: 'permanent',
  OPTIONS_INVALID: 'permanent',
  IDENTIFIER_INVALID: 'permanent',
  RUN_NOT_FOUND: 'permanent',
  TASK_NOT_FOUND: 'permanent',
  REPORT_NOT_FOUND: 'permanent',
  // a report has no row for the key asked for (e.g. an unknown seller id)
  REPORT_ROW_NOT_FOUND: 'permanent',
  ARGUMENT_INVALID: 'permanent',
  // tributary/client waitForRun: the run did not end within its timeout
  WAIT_TIMEOUT: 'permanent',
  // a trigger for a date whose run exists with other params (`trib run clear` re-runs it with its own)
  RUN_EXISTS: 'permanent',
  // `trib dags test`: the run it ran did not succeed
  RUN_FAILED: 'permanent',
  // `trib backfill` over more runs than BACKFILL_MAX_RUNS without --yes
  BACKFILL_TOO_LARGE: 'permanent',
  // dashboard users and their tokens (`trib users`, `trib tokens`)
  USER_NOT_FOUND: 'permanent',
  USER_EXISTS: 'permanent',
  TOKEN_NOT_FOUND: 'permanent',
  JOB_KIND_UNKNOWN: 'permanent',
  // a custom job kind (kinds/ folder or a DAG file) with a bad or clashing name
  JOB_KIND_INVALID: 'permanent',
  // database migrations — a down migration refused or failed (nothing changed)
  MIGRATION_FAILED: 'permanent',
  // `trib demo` / `trib standalone` cannot create or reach the demo's own database
  DEMO_DATABASE_FAILED: 'permanent',
  // load job, file level — retryable: a file can be re-delivered, finish being written or settle
  FILE_NOT_FOUND: 'retryable',
  FILE_UNREADABLE: 'retryable',
  FILE_EMPTY: 'retryable',
  FILE_HEADER_MISMATCH: 'retryable',
  FILE_HEADER_DUPLICATE: 'retryable',
  FILE_HEADER_EXTRA: 'retryable',
  FILE_UNTERMINATED_QUOTE: 'retryable',
  REJECT_LIMIT_EXCEEDED: 'retryable',
  ACCOUNTING_MISMATCH: 'retryable',
  // the file changed since the sensor took it, or while it was read (still being written?)
  FILE_CHANGED: 'retryable',
  // every row of a non-empty file refused, or a replace that would leave the target empty
  LOAD_EMPTY: 'retryable',
  // a check's or reconciliation's verdict on data already committed: a retry re-reads the same data
  CHECK_FAILED: 'permanent',
  RECONCILE_FAILED: 'permanent',
  // a table or column another pipeline or a migration may still create
  TABLE_NOT_FOUND: 'retryable',
  // a user table named in the engine's own schema (TRIBUTARY_SCHEMA)
  TABLE_RESERVED: 'permanent',
  COLUMN_NOT_FOUND: 'retryable',
  // sensors and sources — a sensor's deadline is its own budget for waiting (as Airflow's sensor timeout)
  SENSOR_TIMEOUT: 'permanent',
  // an upstream result that names no files: stored, so every retry reads the same
  SOURCE_MALFORMED: 'permanent',
  // a file path a task touches is outside the data roots (DATA_ROOTS, the DAG's dataRoots)
  PATH_OUTSIDE_ROOT: 'permanent',
  SOURCE_UNAVAILABLE: 'retryable',
  // extract job — an HTTP source refused the request (4xx but 408/429: the request itself is wrong)
  SOURCE_REJECTED: 'permanent',
  // … or sent a page it cannot read (a source can serve it whole on the next try)
  PAGE_MALFORMED: 'retryable',
  // a failure/success/retry/deadline callback failed (stored on its event; never fails a task)
  CALLBACK_FAILED: 'permanent',
  // runtime
  // a param declared secret({ env }) whose environment variable is not set where the task ran
  SECRET_ENV_MISSING: 'permanent',
  TASK_TIMEOUT: 'retryable',
  TASK_FAILED: 'retryable',
  DATABASE_UNAVAILABLE: 'retryable',
  QUEUE_UNAVAILABLE: 'retryable',
  // a try whose worker died (or stopped renewing its lease) more often than WORKER_LOST_LIMIT
  WORKER_LOST: 'retryable',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.details = options?.details;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code] === 'retryable';
  }
}

/**
 * SQLSTATEs a retry cannot change: class 42, the statement itself is wrong (syntax, types,
 * ambiguous names) — except an object or privilege another session may still create or grant,
 * and a duplicate, which a concurrent creator explains. Every other SQLSTATE (a constraint
 * violation, a data exception, …) is retried within the task's `retries`.
 */
const PERMANENT_SQLSTATE_CLASS = '42';
const RETRYABLE_IN_CLASS_42 = new Set([
  '42P01', '42703', '42883', '42704', // undefined table, column, function, object
  '42501', // insufficient privilege
  '42P06', '42P07', '42710', // duplicate schema, table, object
]);
const SQLSTATE = /^[0-9A-Z]{5}$/;
const RETRYABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * One table decides retry or fail for any thrown value: a TributaryError by its code, a Postgres
 * error by its SQLSTATE, anything else (file system errors, unknown errors) is retryable.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TributaryError) return err.retryable;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !SQLSTATE.test(code)) return true;
  return !code.startsWith(PERMANENT_SQLSTATE_CLASS) || RETRYABLE_IN_CLASS_42.has(code);
}

/**
 * Infrastructure errors: the database or the queue failed under the try, not the task. The engine
 * retries these itself (with backoff, up to a ceiling) without using the task's own `retries`.
 * Connection loss, admin shutdown / crash recovery, serialization failure, deadlock, too many
 * connections. A pg error without a SQLSTATE (e.g. "Connection terminated") is recognised by the
 * executor from the state of its client, not from the message.
 */
const INFRASTRUCTURE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '53300']);
const INFRASTRUCTURE_CODES: ReadonlySet<string> = new Set<ErrorCode>(['DATABASE_UNAVAILABLE', 'QUEUE_UNAVAILABLE']);

export function isInfrastructure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (err instanceof TributaryError) return INFRASTRUCTURE_CODES.has(code);
  return code.startsWith('08') || INFRASTRUCTURE_SQLSTATES.has(code) || RETRYABLE_NODE_CODES.has(code);
}

/** `CODE: message` with the root cause appended, for one-line reports to people. */
export function describeError(err: unknown): string {
  if (err instanceof TributaryError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) {
    const pg = err as Error & { code?: string; detail?: string; column?: string; constraint?: string };
    const extra = [pg.detail, pg.constraint && `constraint ${pg.constraint}`, pg.column && `column ${pg.column}`]
      .filter(Boolean)
      .join('; ');
    return `${pg.code ? `${pg.code}: ` : ''}${err.message}${extra ? ` (${extra})` : ''}`;
  }
  return String(err);
}
