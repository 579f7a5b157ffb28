/**
 * Load job options: raw (as written in a DAG) → defaults → validated once by zod. The handler
 * trusts the parsed `LoadOptions`; `compileLoad()` (plan.ts) turns them into the hot-path plan.
 */
import { z } from 'zod';
import { connectionOption } from '../../engine/connections.ts';
import { thresholdSchema } from '../sql/outcome.ts';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a SQL identifier');
const tableName = z.string().regex(/^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be table or schema.table');

/**
 * Explicit coercions a column may opt into. Each one applied to a loaded row is counted in the
 * result and ledger as `column.coercion` and recorded, with its line and the value before and
 * after, in the coercion audit table beside the rejects (`audit.<table>_coercions`).
 */
export const COERCIONS = ['trim', 'thousands_separator', 'negative_zero', 'lowercase', 'uppercase'] as const;
export type Coercion = (typeof COERCIONS)[number];

/**
 * A custom rule: return true when the value is fine, or false / a message when it is not.
 * `record` is the row's fields by header name, valid only during the call.
 */
export type ColumnPredicate = (value: string, record: Readonly<Record<string, string>>) => boolean | string;

const common = {
  /** The column in the target table; also its header name unless `header` is given. */
  name: identifier,
  /** The header name in the file. @default name */
  header: z.string().min(1).optional(),
  /** An empty field is an error. @default true */
  required: z.boolean().default(true),
  /** Unique within the file; the policy says which duplicate stays: `first`, `last`, or `reject` later ones. */
  unique: z.enum(['first', 'last', 'reject']).optional(),
  /**
   * Coercions this column opts into, each one recorded: `trim` (any column), `thousands_separator` and `negative_zero`
   * (integer, bigint, numeric), `lowercase` / `uppercase` (text, pattern, enum). @default []
   */
  coerce: z.array(z.enum(COERCIONS)).default([]),
  /**
   * How an empty field reads. `copy`, as PostgreSQL's COPY … CSV: an unquoted empty field is NULL, a
   * quoted `""` is the empty string — checked like any value, so a text column loads '' (even when
   * required) and an integer or date column refuses it, as COPY does. `null`: both are NULL.
   * `empty-string`: both are '' (text, pattern, enum). `reject`: both are refused (rule `empty`).
   * NULL in a required column is refused (rule `required`). @default 'copy'
   */
  empty: z.enum(['copy', 'null', 'empty-string', 'reject']).default('copy'),
  /** Custom predicate, run after the type check on the normalised value. */
  check: z.custom<ColumnPredicate>((v) => typeof v === 'function', 'must be a function').optional(),
};

const range = {
  /** Smallest value accepted (inclusive). */
  min: z.number().optional(),
  /** Largest value accepted (inclusive). */
  max: z.number().optional(),
};
const lengths = {
  /** Fewest characters accepted. */
  minLength: z.number().int().min(0).optional(),
  /** Most characters accepted; a created table gets `varchar(maxLength)` (Postgres allows up to 10485760). */
  maxLength: z.number().int().min(1).max(10_485_760).optional(),
};

export const columnSchema = z.discriminatedUnion('type', [
  z.object({
    ...common,
    /** A 32-bit integer (`integer`). */
    type: z.literal('integer'),
    ...range,
  }).strict(),
  z.object({
    ...common,
    /** A 64-bit integer (`bigint`). */
    type: z.literal('bigint'),
    ...range,
  }).strict(),
  z.object({
    ...common,
    /** An exact decimal (`numeric`, or `numeric(precision,scale)`). */
    type: z.literal('numeric'),
    /** Total significant digits, as in `numeric(p,s)`. @default none: unconstrained `numeric`, any decimal kept exactly */
    precision: z.number().int().min(1).max(1000).optional(),
    /** Decimals kept; needs `precision`. @default 0 when `precision` is given (`numeric(p)` = `numeric(p,0)`) */
    scale: z.number().int().min(0).max(1000).optional(),
    /**
     * A value with more decimals than `scale` is rounded (ties to even, or half away from zero),
     * each one recorded as coercion `round`; needs `precision`. @default none: such a value is refused
     */
    round: z.enum(['half-even', 'half-up']).optional(),
    ...range,
  }).strict()
    .refine((c) => c.precision !== undefined || (c.scale === undefined && c.round === undefined), {
      message: 'scale and round need a precision (unconstrained numeric keeps every decimal)', path: ['precision'],
    })
    .refine((c) => c.precision === undefined || c.scale === undefined || c.scale <= c.precision, {
      message: 'scale may not exceed precision (numeric(p,s) needs s <= p)', path: ['scale'],
    }),
  z.object({
    ...common,
    /** Any text (`text`, or `varchar(maxLength)`). */
    type: z.literal('text'),
    ...lengths,
    /** A regular expression the value must match; unanchored (use `^…$` for the whole value). */
    pattern: z.string().optional(),
  }).strict(),
  z.object({
    ...common,
    /** Text that must match `regex` (`text`, or `varchar(maxLength)`). */
    type: z.literal('pattern'),
    /** The regular expression the value must match; unanchored (use `^…$` for the whole value). */
    regex: z.string(),
    ...lengths,
  }).strict(),
  z.object({
    ...common,
    /** One of `values` (`text`). */
    type: z.literal('enum'),
    /** The accepted values, matched exactly (or after a `lowercase` / `uppercase` coercion). */
    values: z.array(z.string()).min(1),
  }).strict(),
  z.object({
    ...common,
    /** A date in one of `formats`, loaded as ISO (`date`). */
    type: z.literal('date'),
    /** Accepted layouts built from YYYY, MM, DD and literal separators. @default ['YYYY-MM-DD'] */
    formats: z.array(z.string().regex(/^(?=.*YYYY)(?=.*MM)(?=.*DD)[YMD\-/. ]+$/, 'date format uses YYYY, MM, DD')).default(['YYYY-MM-DD']),
    /** ISO dates (inclusive). */
    min: z.iso.date().optional(),
    /** Latest date accepted, ISO (inclusive). */
    max: z.iso.date().optional(),
  }).strict(),
  z.object({
    ...common,
    /** An ISO 8601 timestamp without time zone, to microseconds (`timestamp(6)`); a zoned value is refused. */
    type: z.literal('timestamp'),
  }).strict(),
  z.object({
    ...common,
    /** An ISO 8601 timestamp, to microseconds (`timestamptz(6)`); one without a zone is read as UTC. */
    type: z.literal('timestamptz'),
  }).strict(),
  z.object({
    ...common,
    /** One of `trueValues` / `falseValues` (`boolean`). */
    type: z.literal('boolean'),
    /** Values read as true, case-insensitively. @default ['true', 't', '1', 'yes', 'y'] */
    trueValues: z.array(z.string()).default(['true', 't', '1', 'yes', 'y']),
    /** Values read as false, case-insensitively. @default ['false', 'f', '0', 'no', 'n'] */
    falseValues: z.array(z.string()).default(['false', 'f', '0', 'no', 'n']),
  }).strict(),
  z.object({
    ...common,
    /** A hyphenated UUID, 36 characters (`uuid`). */
    type: z.literal('uuid'),
  }).strict(),
]);
export type ColumnSpec = z.infer<typeof columnSchema>;

const mapItemSource = z
  .object({
    /** The upstream task whose result names the files. */
    task: identifier,
    /** Dotted path to the files within that result. @default the whole result */
    path: z.string().optional(),
  })
  .strict();

export const sourceSchema = z.union([
  z.object({
    /** One file's path (templates such as `{yyyymmdd}` rendered); must be inside the data roots. */
    file: z.string().min(1),
  }).strict(),
  z.object({
    /** The files matching this path, in name order; wildcards `*` `?` in the file name only; no match fails. */
    glob: z.string().min(1),
  }).strict(),
  z.object({
    /** The files an upstream task returned: a path, `{ path, partition? }` or a list of them (a mapped instance takes its item). */
    fromUpstream: mapItemSource,
  }).strict(),
]);
export type LoadSource = z.infer<typeof sourceSchema>;

export const csvSchema = z
  .object({
    /** The field separator. @default ',' */
    delimiter: z.string().length(1).default(','),
    /** The quote character. @default '"' */
    quote: z.string().length(1).default('"'),
    /** Escapes a quote inside a quoted field. @default the quote character ("" doubles a quote) */
    escape: z.string().length(1).optional(),
    /** The first line names the columns; `false`: every line is data, its fields in the order of `columns`. @default true */
    header: z.boolean().default(true),
    /**
     * The files' character encoding, decoded as they stream. `utf-8` (`utf8` is the same): a record with
     * bytes that are not UTF-8 is refused (rule `invalid_utf8`); a load failed by such refusals (every row
     * refused) names the encoding those bytes look like. `latin1` (ISO-8859-1: each byte is the character of
     * that number); `windows-1252` (Latin-1 with € ‘ ’ “ ” – — … at 0x80–0x9F); `utf-16le`, `utf-16be`
     * (a byte-order mark is skipped; a lone surrogate refuses its record); `utf-16` (the byte-order mark
     * says which, or else the NUL bytes beside ASCII characters). A file whose first bytes cannot be in the declared encoding (a byte-order mark of
     * another, UTF-16's NUL bytes) fails with FILE_UNREADABLE naming the one to set. @default 'utf-8'
     */
    encoding: z.enum(['utf-8', 'utf8', 'latin1', 'windows-1252', 'utf-16le', 'utf-16be', 'utf-16']).default('utf-8'),
    /**
     * `auto`: a file whose first bytes are gzip's or zstd's magic number is decompressed as it streams,
     * and one named `.gz` / `.zst` whose bytes are not fails (cut short? not compressed?). `none`: read as
     * it is (a compressed file fails naming the option). `gzip`, `zstd`: always decompressed. A corrupt
     * or truncated file fails (FILE_UNREADABLE) with nothing loaded. The ledger hashes the file's own
     * (compressed) bytes. @default 'auto'
     */
    compression: z.enum(['auto', 'none', 'gzip', 'zstd']).default('auto'),
    /**
     * A record longer than this many characters (its line end not counted) is refused as one
     * (rule `record_too_long`), read quote-aware to its real end. @default 1 MiB
     */
    maxRecordBytes: z.number().int().min(1024).default(1 << 20),
    /**
     * A quote inside an unquoted field (`37°36'37.8"N`, `5 1/2" pipe`): such a field has no line break,
     * so the quote opens nothing. `literal` keeps it as a character of the value (as Python's csv and
     * csv-parse `relax_quotes` do); `refuse` refuses its record (rule `stray_quote`). A quote followed by
     * text inside a quoted field (`"abc"tail`) is always refused (rule `text_after_quote`). @default 'literal'
     */
    strayQuotes: z.enum(['literal', 'refuse']).default('literal'),
  })
  .strict()
  .refine((c) => c.delimiter !== c.quote, 'the delimiter and the quote must differ')
  .refine((c) => !/[A-Za-z0-9\-+:. \r\n\\]/.test(c.delimiter), 'the delimiter may not be a letter, digit, space, CR/LF, backslash or one of - + : .')
  .refine((c) => !/[\r\n]/.test(c.quote), 'the quote may not be CR or LF')
  .prefault({});

export const loadOptions = z
  .object({
    /** The files to load: one `file`, a `glob`, or those an upstream task returned (`fromUpstream`). */
    source: sourceSchema,
    /** `table` or `schema.table`; created from `columns` when missing (unless `createTable: false`). */
    target: tableName,
    /**
     * A postgres connection (`TRIB_CONN_<NAME>`) to load into, e.g. a warehouse: its rows, audit rows
     * and ledger row commit there exactly once, with an inbox row the next delivery of the try finds
     * (docs/warehouse.md). @default the database of record
     */
    connection: connectionOption('postgres').optional(),
    /** The file's columns, each with its type and checks; a created table has them in this order. */
    columns: z.array(columnSchema).min(1),
    /**
     * `append` inserts; `upsert` merges by `key` (see `onConflict`); `replace` empties the target first;
     * `replace-partition` deletes only the rows of `partition.value` first. @default 'append'
     */
    mode: z.enum(['append', 'upsert', 'replace', 'replace-partition']).default('append'),
    /** Key columns: the upsert conflict target and the primary key of a created table. */
    key: z.array(identifier).default([]),
    /**
     * upsert: what a row whose key is already in the target does. `update` overwrites it (the last
     * line of a key in a file wins; `ON CONFLICT DO UPDATE`). `ignore` loads only keys that are new:
     * the existing row stays as it is (like `ON CONFLICT DO NOTHING`), within a file the first line of a
     * key wins, and every skipped row counts in `rows_deduplicated`. @default 'update'
     */
    onConflict: z.enum(['update', 'ignore']).default('update'),
    /** replace-partition: the column (not in the file) and the value it gets for every row. */
    partition: z
      .object({
        /** The target column holding the partition value (text in a created table); not a file column. */
        column: identifier,
        /** This load's value; templates such as `{yyyy-mm-dd}` rendered; a source item's `partition` overrides it. */
        value: z.string().min(1),
      })
      .strict()
      .optional(),
    /**
     * Refused rows. Coerced values go to its sibling: the same name with `_coercions` in place of a
     * trailing `_rejects` (else appended). @default `audit.<table>_rejects`
     */
    audit: tableName.optional(),
    /**
     * Refused rows per file (dbt `warn_if`/`error_if`, Snowflake `ON_ERROR = SKIP_FILE_n%`): past
     * `fail` the file fails and nothing is committed; past `warn` it loads and the task carries a
     * warning. A refused record counts every line it spans: a level breaches when the refused lines
     * pass `count`, or refused rows / rows read or refused lines / data lines read pass `ratio`; an
     * empty level means any refused row. A DAG's `optionDefaults.load.rejectLimit` applies when a task
     * sets none. @default {} (no count or ratio limit; maxLinesPerRecord 100)
     */
    rejectLimit: z
      .object({
        /** Past this level the file loads and the task carries a warning. */
        warn: thresholdSchema.optional(),
        /** Past this level the file fails (REJECT_LIMIT_EXCEEDED) and nothing is committed. */
        fail: thresholdSchema.optional(),
        /**
         * A refused record spanning more lines than this fails the file (REJECT_LIMIT_EXCEEDED, nothing
         * committed): a broken quote has swallowed lines that likely hold valid rows. Raise it to load
         * the rest and refuse those lines (each counted, and named in the task's warnings). @default 100
         */
        maxLinesPerRecord: z.number().int().min(1).default(100),
      })
      .strict()
      .prefault({}),
    /** A header field no column declares: `error` fails the file (FILE_HEADER_EXTRA), `ignore` skips it. @default 'error' */
    extraColumns: z.enum(['error', 'ignore']).default('error'),
    /** The CSV dialect of the files. @default {} */
    csv: csvSchema,
    /** Load even when the ledger has this file's content for the target/partition. @default false */
    force: z.boolean().default(false),
    /**
     * A file that changed since the sensor took it (size or mtime): `fail` the load (FILE_CHANGED,
     * nothing loaded), or `wait` until it has held still for `fileStableMs`, then load it. A file that
     * changes while it is read always fails the load. @default 'fail'
     */
    fileChanged: z.enum(['fail', 'wait']).default('fail'),
    /** fileChanged 'wait': how long size and mtime must hold still (the task's timeout bounds the wait). @default 2000 */
    fileStableMs: z.number().int().min(0).default(2000),
    /**
     * `false`: a file whose rows are all refused fails the load (LOAD_EMPTY), and a replace /
     * replace-partition never replaces existing rows with nothing. `true` allows both. @default false
     */
    allowEmpty: z.boolean().default(false),
    /** Create a missing target from `columns` (`key` as primary key); `false`: a missing target fails. @default true */
    createTable: z.boolean().default(true),
    /** Refused rows are written to the audit table in batches of this many. @default 5000 */
    auditBatchRows: z.number().int().min(1).max(50_000).default(5000),
    /**
     * upsert with onConflict 'ignore': staged rows are merged into the target in segments of this
     * many while the rest of the file is read, so reading and merging overlap (50,000 rows of ~150
     * bytes stay within Postgres' default 8 MB of temp buffers). Plans where a later line wins
     * (onConflict 'update', a `unique: 'last'` column) merge once, at the end of the file.
     * @default 50000
     */
    mergeSegmentRows: z.number().int().min(1).default(50_000),
  })
  .strict()
  .superRefine((o, ctx) => {
    const names = new Set<string>();
    for (const c of o.columns) {
      if (names.has(c.name)) ctx.addIssue({ code: 'custom', message: `column "${c.name}" is declared twice`, path: ['columns'] });
      if (c.empty === 'empty-string' && c.type !== 'text' && c.type !== 'pattern' && c.type !== 'enum') {
        ctx.addIssue({ code: 'custom', message: `column "${c.name}": empty 'empty-string' needs a text, pattern or enum column`, path: ['columns'] });
      }
      names.add(c.name);
    }
    for (const k of o.key) {
      if (!names.has(k) && k !== o.partition?.column) {
        ctx.addIssue({ code: 'custom', message: `key column "${k}" is not a declared column`, path: ['key'] });
      }
    }
    if (o.mode === 'upsert' && o.key.length === 0) ctx.addIssue({ code: 'custom', message: 'mode upsert needs key columns', path: ['key'] });
    if (o.onConflict === 'ignore' && o.mode !== 'upsert') {
      ctx.addIssue({ code: 'custom', message: "onConflict 'ignore' needs mode upsert", path: ['onConflict'] });
    }
    if (o.onConflict === 'ignore' && o.columns.some((c) => c.unique === 'last' && o.key.includes(c.name))) {
      ctx.addIssue({ code: 'custom', message: "onConflict 'ignore' keeps the first row of a key: a key column cannot be unique 'last'", path: ['columns'] });
    }
    if (o.mode === 'replace-partition' && !o.partition) {
      ctx.addIssue({ code: 'custom', message: 'mode replace-partition needs partition {column, value}', path: ['partition'] });
    }
    if (o.partition && names.has(o.partition.column)) {
      ctx.addIssue({ code: 'custom', message: `partition column "${o.partition.column}" must not be a file column`, path: ['partition'] });
    }
  });

export type LoadOptions = z.infer<typeof loadOptions>;
export type LoadOptionsInput = z.input<typeof loadOptions>;
