/**
 * Indexes the checks declare: the referenced key of every relationship, the foreign-key columns,
 * the columns of every unique check, plus `indexes`. `ensureIndexes` creates the ones no existing
 * index already leads with (CREATE INDEX IF NOT EXISTS, deterministic name).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { IndexSpec, ValidateOptions } from './options.ts';
import { column as qi, table as qt } from '../sql/identifiers.ts';

export function declaredIndexes(options: Pick<ValidateOptions, 'checks' | 'indexes'>): IndexSpec[] {
  const specs: IndexSpec[] = [...options.indexes];
  for (const check of options.checks) {
    if (check.kind === 'relationship') {
      specs.push({ table: check.to.table, columns: check.to.columns }, { table: check.table, columns: check.columns });
    } else if (check.kind === 'unique') {
      specs.push({ table: check.table, columns: check.columns });
    }
  }
  const seen = new Set<string>();
  return specs.filter((s) => {
    const id = `${s.table}(${s.columns.join(',')})`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** `trib_<table>_<cols>` cut to fit 63 bytes, with a hash so two specs never share a name. */
export function indexName(spec: IndexSpec): string {
  const hash = createHash('sha256').update(`${spec.table}(${spec.columns.join(',')})`).digest('hex').slice(0, 8);
  const base = `trib_${spec.table.split('.').pop()}_${spec.columns.join('_')}`.slice(0, 63 - 9);
  return `${base}_${hash}`;
}

const INDEX_COLUMNS_SQL = `
  SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
  FROM pg_index i
  CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  WHERE i.indrelid = to_regclass($1)
  GROUP BY i.indexrelid`;

/** Creates the missing indexes; returns the names of those it created. */
export async function ensureIndexes(client: pg.PoolClient, specs: readonly IndexSpec[]): Promise<string[]> {
  const created: string[] = [];
  for (const spec of specs) {
    const user = `index on ${spec.table}(${spec.columns.join(', ')})`;
    const table = qt(spec.table, user);
    const cols = spec.columns.map((c) => qi(c, user));
    const { rows } = await client.query<{ columns: string[] }>(INDEX_COLUMNS_SQL, [table]);
    const covered = rows.some((r) => spec.columns.every((c, i) => r.columns[i] === c));
    if (covered) continue;
    const name = indexName(spec);
    await client.query(`CREATE INDEX IF NOT EXISTS ${qi(name, user, 'index')} ON ${table} (${cols.join(', ')})`);
    created.push(name);
  }
  return created;
}
