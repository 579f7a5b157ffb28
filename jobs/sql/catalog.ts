/**
 * Catalog lookups for definitions: does a table exist, which columns and primary key does it
 * have. Fails with TABLE_NOT_FOUND / COLUMN_NOT_FOUND naming the table, column and the user of it.
 */
import type pg from 'pg';
import { TributaryError } from '../../engine/errors.ts';
import { table as quoteTable } from './identifiers.ts';

export interface TableInfo {
  /** The name as the definition wrote it. */
  name: string;
  /** `"schema"."table"` as the definition wrote it, for SQL. */
  sql: string;
  /** The resolved `schema.table`, identical for `t` and `public.t`. */
  qualified: string;
  /** pg_class.relkind: r table, p partitioned, m materialized view, v view, f foreign. */
  kind: string;
  /** Column name → SQL type (format_type), in table order. */
  columns: Map<string, string>;
  /** Primary key columns in key order; empty when the table has none. */
  primaryKey: string[];
}

interface CatalogRow {
  qualified: string;
  relkind: string;
  attname: string | null;
  type: string | null;
  pk_position: number | null;
}

const TABLE_SQL = `
  SELECT format('%s.%s', n.nspname, c.relname) AS qualified, c.relkind::text AS relkind, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
         array_position(i.indkey::int2[], a.attnum) AS pk_position
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
  WHERE c.oid = to_regclass($1)
  ORDER BY a.attnum`;

/** Looks tables up once per instance (one prepare of a task's checks). */
export class Catalog {
  private readonly cache = new Map<string, Promise<TableInfo>>();

  constructor(private readonly client: pg.PoolClient) {}

  /** The table `name` (`t` or `schema.t`); `user` says who needs it, for the error message. */
  table(name: string, user: string): Promise<TableInfo> {
    let found = this.cache.get(name);
    if (!found) {
      found = this.lookup(name, user);
      this.cache.set(name, found);
    }
    return found;
  }

  /** The table, after checking every column in `columns` exists in it. */
  async columns(name: string, columns: readonly string[], user: string): Promise<TableInfo> {
    const info = await this.table(name, user);
    requireColumns(info, columns, user);
    return info;
  }

  private async lookup(name: string, user: string): Promise<TableInfo> {
    const quoted = quoteTable(name, user);
    const { rows } = await this.client.query<CatalogRow>(TABLE_SQL, [quoted]);
    if (rows.length === 0) throw new TributaryError('TABLE_NOT_FOUND', `${user}: table "${name}" does not exist`);
    const columns = new Map<string, string>();
    const pk: Array<[number, string]> = [];
    for (const row of rows) {
      if (row.attname === null || row.type === null) continue;
      columns.set(row.attname, row.type);
      if (row.pk_position !== null) pk.push([row.pk_position, row.attname]);
    }
    pk.sort((a, b) => a[0] - b[0]);
    return { name, sql: quoted, qualified: rows[0].qualified, kind: rows[0].relkind, columns, primaryKey: pk.map((p) => p[1]) };
  }
}

/** Throws COLUMN_NOT_FOUND for the first column of `columns` that `info` lacks. */
export function requireColumns(info: TableInfo, columns: readonly string[], user: string): void {
  for (const column of columns) {
    if (!info.columns.has(column)) {
      const known = [...info.columns.keys()].join(', ');
      throw new TributaryError(
        'COLUMN_NOT_FOUND',
        `${user}: column "${column}" does not exist in table "${info.name}" (columns: ${known})`,
      );
    }
  }
}
