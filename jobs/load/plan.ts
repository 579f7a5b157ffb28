/**
 * Parsed load options → the plan the hot path trusts: quoted names, compiled columns, the CSV
 * dialect, and where rows go (straight into the target, or through a staging table when the
 * mode is upsert or a column keeps the last duplicate).
 */
import { quoteIdent, quoteTable } from '../../db/identifiers.ts';
import { auditTarget, type AuditTarget } from './audit.ts';
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
  specs: readonly ColumnSpec[];
  /** Column checks compiled once; coercion counts are taken per file. */
  columns: CompiledColumns;
  dialect: CsvDialect;
  partitionColumn?: string;
  /** Rows go through a temp table first (upsert, or `unique: 'last'`). */
  staging: boolean;
  /** Column sets deduplicated in SQL keeping the last line: each `unique: 'last'` column, then the upsert key. */
  lastWins: string[][];
  /** Quoted column list of every COPY: declared columns, then the partition column. */
  copyColumns: string[];
}

export function compileLoad(options: LoadOptions): LoadPlan {
  const lastWins = options.columns.filter((c) => c.unique === 'last').map((c) => [c.name]);
  if (options.mode === 'upsert') lastWins.push(options.key);
  const partitionColumn = options.partition?.column;
  const names = [...options.columns.map((c) => c.name), ...(partitionColumn ? [partitionColumn] : [])];
  return {
    options,
    target: options.target,
    targetSql: quoteTable(options.target),
    audit: auditTarget(options.target, options.audit),
    specs: options.columns,
    columns: new CompiledColumns(options.columns, csvEscaper(options.csv.delimiter, options.csv.quote)),
    dialect: {
      delimiter: options.csv.delimiter,
      quote: options.csv.quote,
      escape: options.csv.escape ?? options.csv.quote,
      maxRecordBytes: options.csv.maxRecordBytes,
    },
    partitionColumn,
    staging: lastWins.length > 0,
    lastWins,
    copyColumns: names.map((n) => quoteIdent(n, 'column')),
  };
}
