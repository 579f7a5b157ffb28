/**
 * Parsed load options → the plan the hot path trusts: quoted names, compiled columns, the CSV
 * dialect, the audit tables, and where rows go (straight into the target, or through a staging
 * table when the mode is upsert or a column keeps the last duplicate).
 */
import { quoteIdent, quoteTable } from '../../db/identifiers.ts';
import { auditTarget, coercionTarget, type AuditTarget } from './audit.ts';
import { csvEscaper } from './column-types.ts';
import type { CsvDialect } from './csv-reader.ts';
import type { ColumnSpec, LoadOptions } from './options.ts';
import { CompiledColumns } from './validator.ts';

export const STAGING_TABLE = 'tributary_load_stage';
export const LINE_COLUMN = '__line';

export interface LoadPlan {
  options: LoadOptions;
  target: string;
  targetSql: string;
  audit: AuditTarget;
  /** Where applied coercions are recorded; null when no column declares one (`coerce`, or numeric `round`). */
  coercions: AuditTarget | null;
  specs: readonly ColumnSpec[];
  /** Column checks compiled once; coercion counts are taken per file. */
  columns: CompiledColumns;
  dialect: CsvDialect;
  partitionColumn?: string;
  /** Rows go through a temp table first (upsert, or `unique: 'last'`). */
  staging: boolean;
  /** Column sets deduplicated in SQL keeping the last line: each `unique: 'last'` column, then the upsert key. */
  lastWins: string[][];
  /** upsert with onConflict 'ignore': rows whose key is already in the target are skipped. */
  insertNew: boolean;
  /**
   * Insert-new stages and merges in segments while the file is read (its first-wins key set spans
   * the file, so a later segment never repeats a key of an earlier one). Last-wins plans (upsert
   * `update`, `unique: 'last'`) merge once: all duplicates of a key must be staged together.
   */
  mergeInSegments: boolean;
  /** Quoted column list of every COPY: declared columns, then the partition column. */
  copyColumns: string[];
}

export function compileLoad(options: LoadOptions): LoadPlan {
  const lastWins = options.columns.filter((c) => c.unique === 'last').map((c) => [c.name]);
  const insertNew = options.mode === 'upsert' && options.onConflict === 'ignore';
  if (options.mode === 'upsert' && !insertNew) lastWins.push(options.key);
  const audit = auditTarget(options.target, options.audit);
  const partitionColumn = options.partition?.column;
  const fileKey = options.key.filter((k) => k !== partitionColumn); // one partition value per file
  const names = [...options.columns.map((c) => c.name), ...(partitionColumn ? [partitionColumn] : [])];
  return {
    options,
    target: options.target,
    targetSql: quoteTable(options.target),
    audit,
    coercions: options.columns.some((c) => c.coerce.length > 0 || (c.type === 'numeric' && c.round !== undefined)) ? coercionTarget(audit) : null,
    specs: options.columns,
    columns: new CompiledColumns(options.columns, csvEscaper(options.csv.delimiter, options.csv.quote), insertNew ? fileKey : []),
    dialect: {
      delimiter: options.csv.delimiter,
      quote: options.csv.quote,
      escape: options.csv.escape ?? options.csv.quote,
      maxRecordBytes: options.csv.maxRecordBytes,
      strayQuotes: options.csv.strayQuotes,
    },
    partitionColumn,
    staging: lastWins.length > 0 || insertNew,
    lastWins,
    insertNew,
    mergeInSegments: insertNew && lastWins.length === 0,
    copyColumns: names.map((n) => quoteIdent(n, 'column')),
  };
}
