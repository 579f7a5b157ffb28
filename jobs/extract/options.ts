/**
 * Extract job options: raw (as written in a DAG) → defaults → validated once by zod, then the
 * column/key/target part is checked by the load job's own schema and kept as `load`, the
 * LoadOptions that drive the shared upsert path (staging + INSERT … ON CONFLICT).
 */
import { z } from 'zod';
import { connectionOption } from '../../engine/connections.ts';
import { columnFn } from '../load/column-types.ts';
import { columnSchema, loadOptions, type ColumnSpec, type LoadOptions } from '../load/options.ts';
import { identifier, tableName } from '../sql/schemas.ts';

/** `a.b.c` into a JSON body; '' is the body itself. */
const jsonPath = z.string().regex(/^([^.\s]+(\.[^.\s]+)*)?$/, 'must be a dotted path such as data or result.items');
const param = z.string().min(1).max(200);

/** Layouts built from YYYY, MM, DD, HH, mm, ss and the separators - / . : T and space. */
export const TIMESTAMP_LAYOUT = /^(?=.*YYYY)(?=.*MM)(?=.*DD)(?=.*HH)(?=.*mm)(YYYY|MM|DD|HH|mm|ss|[-/.: T])+$/;

const layout = z
  .string()
  .regex(TIMESTAMP_LAYOUT, 'layout of YYYY MM DD HH mm ss')
  .refine((l) => {
    const tokens = l.match(/YYYY|MM|DD|HH|mm|ss/g) ?? [];
    return new Set(tokens).size === tokens.length;
  }, 'a layout names each of YYYY MM DD HH mm ss at most once');

const pagePaging = z
  .object({
    /** Numbered pages: `pageParam` counts up from `firstPage`. */
    style: z.literal('page'),
    /** Query parameter carrying the page number. @default 'page' */
    pageParam: param.default('page'),
    /** The number of the first page requested. @default 1 */
    firstPage: z.number().int().min(0).default(1),
    /** Query parameter carrying the page size (`size`). @default 'page_size' */
    sizeParam: param.default('page_size'),
    /** Records asked for per page. @default 100 */
    size: z.number().int().min(1).default(100),
    /** Where the body gives the next page number (null or absent: last page). Omitted: a short page is the last. */
    nextPagePath: jsonPath.min(1).optional(),
  })
  .strict();

const cursorPaging = z
  .object({
    /** Cursor pages: each body gives the cursor of the next page. */
    style: z.literal('cursor'),
    /** Query parameter carrying the cursor (none on the first request). @default 'cursor' */
    cursorParam: param.default('cursor'),
    /** Where the body gives the next cursor (null, absent or '': last page). */
    nextCursorPath: jsonPath.min(1),
    /** Query parameter for the page size; omitted: none is sent. */
    sizeParam: param.optional(),
    /** Records asked for per page. @default 100 */
    size: z.number().int().min(1).default(100),
  })
  .strict();

const requestOptions = z
  .object({
    /** One request (headers and body) taking longer is abandoned and retried. @default 30000 */
    timeoutMs: z.number().int().min(1).default(30_000),
    /** Retries of one page after a 5xx, 408, 429, network error or timeout. @default 5 */
    retries: z.number().int().min(0).max(100).default(5),
    /** First backoff; doubles per retry, with jitter (between half and all of it). @default 500 */
    backoffMs: z.number().int().min(0).default(500),
    /** Cap on the doubling backoff. @default 30000 */
    maxBackoffMs: z.number().int().min(0).default(30_000),
    /** A Retry-After asking for longer fails the page (SOURCE_UNAVAILABLE) instead of waiting. @default 300000 */
    maxRetryAfterMs: z.number().int().min(0).default(300_000),
    /** Extra request headers; values take `{params.<name>}`. Never logged. */
    headers: z.record(z.string().min(1), z.string()).default({}),
  })
  .strict()
  .prefault({});

const timestampTypes: ReadonlyArray<ColumnSpec['type']> = ['timestamp', 'timestamptz'];
const watermarkTypes: ReadonlyArray<ColumnSpec['type']> = [...timestampTypes, 'date', 'integer', 'bigint'];

const base = z
  .object({
    /** The list endpoint; takes `{params.<name>}` (e.g. `{params.apiUrl}`). With `connection`: a path under its URL (`accounts`). */
    url: z.string().min(1),
    /**
     * An http connection (`TRIB_CONN_<NAME>=https://…`, or the connections file with a `token`): its
     * URL is the base `url` is resolved against, and its credentials (user:password in the URL:
     * Basic; a `token`: Bearer) go in every request's Authorization header, never logged.
     * @default none (`url` is absolute)
     */
    connection: connectionOption('http').optional(),
    /** Extra fixed query parameters. */
    query: z.record(param, z.string()).default({}),
    /** How pages are asked for: by page number (`page`) or by cursor (`cursor`). @default { style: 'page' } */
    paging: z.discriminatedUnion('style', [pagePaging, cursorPaging]).prefault({ style: 'page' }),
    /** Where the records array is in the body. @default 'data' */
    recordsPath: jsonPath.default('data'),
    /**
     * Incremental extract: the column whose highest committed value is kept per DAG + task and
     * sent as `param` (the source answers records with column >= it); `initial` for the first run.
     */
    watermark: z
      .object({
        /** The column tracked: timestamp, timestamptz, date, integer or bigint. */
        column: identifier,
        /** Query parameter carrying the kept value (ISO 8601, UTC `Z` for timestamptz, or digits). */
        param,
        /** The value sent while none is kept; omitted: the first run sends no watermark. */
        initial: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** `table` or `schema.table`; created from `columns` (key = primary key) when missing. */
    target: tableName,
    /** Load column specs; `header` names the record's field (default: the column name). */
    columns: z.array(columnSchema).min(1),
    /** Key columns: the upsert target. A record without a key value makes its page malformed. */
    key: z.array(identifier).min(1),
    /** Value given to a missing (absent, null or '') field, counted as coercion `<column>.default`. */
    defaults: z.record(identifier, z.string().min(1)).default({}),
    /** Extra layouts (UTC) for timestamp columns, e.g. `DD/MM/YYYY HH:mm:ss`, rewritten to ISO 8601. */
    timestampFormats: z.record(identifier, z.array(layout).min(1)).default({}),
    /** A column naming the key of the record a new entry reverses: recorded as a `reversal` in the history. */
    reversal: z
      .object({
        /** The column holding the reversed record's key; of the key's type (the key must be one column). */
        column: identifier,
      })
      .strict()
      .optional(),
    /** Refused records; coerced values go to its `_coercions` sibling, as in load. @default `audit.<table>_rejects` */
    audit: tableName.optional(),
    /** Change history: an `update` row per record whose stored row changed, a `reversal` row per reversal. @default `audit.<table>_history` */
    history: tableName.optional(),
    /** Create a missing target from `columns` (`key` as primary key); `false`: a missing target fails. @default true */
    createTable: z.boolean().default(true),
    /** A source still paging after this many pages fails (PAGE_MALFORMED). @default 100000 */
    maxPages: z.number().int().min(1).default(100_000),
    /** HTTP settings: timeout, retries and backoff, extra headers. @default {} */
    request: requestOptions,
  })
  .strict();

type BaseOptions = z.infer<typeof base>;

function crossCheck(o: BaseOptions, ctx: z.RefinementCtx): void {
  const specs = new Map(o.columns.map((c) => [c.name, c]));
  const need = (name: string, path: PropertyKey[], types?: ReadonlyArray<ColumnSpec['type']>): ColumnSpec | undefined => {
    const spec = specs.get(name);
    if (!spec) ctx.addIssue({ code: 'custom', path, message: `"${name}" is not a declared column` });
    else if (types && !types.includes(spec.type)) ctx.addIssue({ code: 'custom', path, message: `column "${name}" must be of type ${types.join(', ')}` });
    return spec;
  };
  if (o.watermark) {
    const spec = need(o.watermark.column, ['watermark', 'column'], watermarkTypes);
    const checked = spec && o.watermark.initial !== undefined ? columnFn(spec, () => undefined, (v) => v)(o.watermark.initial) : '';
    if (typeof checked !== 'string') ctx.addIssue({ code: 'custom', path: ['watermark', 'initial'], message: checked.message });
  }
  for (const name of Object.keys(o.defaults)) need(name, ['defaults', name]);
  for (const name of Object.keys(o.timestampFormats)) need(name, ['timestampFormats', name], timestampTypes);
  if (o.reversal) {
    const spec = need(o.reversal.column, ['reversal', 'column']);
    if (o.key.length !== 1) ctx.addIssue({ code: 'custom', path: ['reversal'], message: 'reversal needs a single-column key' });
    else if (spec && spec.type !== specs.get(o.key[0])?.type) {
      ctx.addIssue({ code: 'custom', path: ['reversal', 'column'], message: `column "${spec.name}" must have the key's type` });
    }
  }
}

export const extractOptions = base.superRefine(crossCheck).transform((o, ctx): BaseOptions & { load: LoadOptions } => {
  // The records never come from `source`: it only names the origin in the load plan.
  const load = loadOptions.safeParse({
    source: { file: o.url }, target: o.target, columns: o.columns, mode: 'upsert', key: o.key, audit: o.audit, createTable: o.createTable,
  });
  if (!load.success) {
    for (const issue of load.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    return z.NEVER;
  }
  return { ...o, load: load.data };
});

export type ExtractOptions = z.infer<typeof extractOptions>;
export type ExtractOptionsInput = z.input<typeof extractOptions>;
export type Paging = ExtractOptions['paging'];
export type RequestOptions = ExtractOptions['request'];
