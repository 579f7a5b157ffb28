/**
 * Target-side SQL of the load modes, all on the task's transaction: create or check the target,
 * clear it (replace) or one partition (replace-partition), and the staging table that upsert and
 * last-wins deduplication go through (`INSERT … SELECT`, ON CONFLICT (key) DO UPDATE for upsert).
 */
import type pg from 'pg';
import { TributaryError } from '../../engine/errors.ts';
import { quoteIdent, splitTable } from '../../db/identifiers.ts';
import { refuseEngineSchema } from '../sql/engine-schema.ts';
import { sqlType } from './column-types.ts';
import { lockForCreate } from './ddl-lock.ts';
import { LINE_COLUMN, STAGING_TABLE, type LoadPlan } from './plan.ts';

const q = (name: string) => quoteIdent(name, 'column');
/** Postgres SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

function columnDefs(plan: LoadPlan, withConstraints: boolean): string[] {
  const defs = plan.specs.map((c) => `${q(c.name)} ${sqlType(c)}${withConstraints && c.required ? ' NOT NULL' : ''}`);
  if (plan.partitionColumn) defs.push(`${q(plan.partitionColumn)} text${withConstraints ? ' NOT NULL' : ''}`);
  return defs;
}

async function targetColumns(client: pg.PoolClient, schema: string, table: string): Promise<Set<string>> {
  const { rows } = await client.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [schema, table],
  );
  return new Set(rows.map((r) => r.column_name));
}

/**
 * Creates the target from the declared columns when missing (key = primary key), else checks its
 * columns. Parallel first loads into a new schema or table wait for the one creating it (ddl-lock.ts).
 */
export async function ensureTarget(client: pg.PoolClient, plan: LoadPlan): Promise<void> {
  const { schema, table } = splitTable(plan.target);
  await refuseEngineSchema(client, schema, table, 'load target');
  let have = await targetColumns(client, schema, table);
  if (have.size === 0) {
    if (!plan.options.createTable) throw new TributaryError('TABLE_NOT_FOUND', `load target table ${plan.target} does not exist (createTable is off)`);
    await lockForCreate(client, schema, table);
    have = await targetColumns(client, schema, table);
  }
  if (have.size === 0) {
    const key = [...plan.options.key];
    if (key.length > 0 && plan.partitionColumn && !key.includes(plan.partitionColumn)) key.push(plan.partitionColumn);
    const defs = columnDefs(plan, true);
    if (key.length > 0) defs.push(`PRIMARY KEY (${key.map(q).join(', ')})`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${plan.targetSql} (${defs.join(', ')})`);
    return;
  }
  const wanted = [...plan.specs.map((c) => c.name), ...(plan.partitionColumn ? [plan.partitionColumn] : [])];
  const missing = wanted.filter((n) => !have.has(n));
  if (missing.length > 0) {
    throw new TributaryError('COLUMN_NOT_FOUND', `load target table ${plan.target} has no column ${missing.join(', ')}`);
  }
}

/** Serialises loads into the same target/partition (ledger check, replace and insert stay consistent). */
export async function lockPartition(client: pg.PoolClient, plan: LoadPlan, partition: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tributary.load.${plan.target}.${partition}`]);
}

/** replace: empty the table; replace-partition: delete that partition's rows. Returns rows deleted. */
export async function clearForReplace(client: pg.PoolClient, plan: LoadPlan, partition: string | undefined): Promise<number> {
  if (plan.options.mode === 'replace') return (await client.query(`DELETE FROM ${plan.targetSql}`)).rowCount ?? 0;
  if (plan.options.mode === 'replace-partition' && plan.partitionColumn && partition !== undefined) {
    const res = await client.query(`DELETE FROM ${plan.targetSql} WHERE ${q(plan.partitionColumn)} = $1`, [partition]);
    return res.rowCount ?? 0;
  }
  return 0;
}

/** Where a file's COPY goes: the target, or a fresh temp staging table (with the line number). */
export async function copyDestination(client: pg.PoolClient, plan: LoadPlan): Promise<{ table: string; columns: string[] }> {
  if (!plan.staging) return { table: plan.targetSql, columns: plan.copyColumns };
  const defs = [...columnDefs(plan, false), `${q(LINE_COLUMN)} bigint NOT NULL`];
  await client.query(`DROP TABLE IF EXISTS pg_temp.${q(STAGING_TABLE)}`);
  await client.query(`CREATE TEMP TABLE ${q(STAGING_TABLE)} (${defs.join(', ')}) ON COMMIT DROP`);
  return { table: `pg_temp.${q(STAGING_TABLE)}`, columns: [...plan.copyColumns, q(LINE_COLUMN)] };
}

/** Staging: drops earlier duplicates (the last line wins) for each last-wins column set. Returns rows dropped. */
export async function dropStagedDuplicates(client: pg.PoolClient, plan: LoadPlan): Promise<number> {
  const stage = `pg_temp.${q(STAGING_TABLE)}`;
  let dropped = 0;
  for (const set of plan.lastWins) {
    const same = set.map((c) => `a.${q(c)} = b.${q(c)}`).join(' AND ');
    const res = await client.query(`DELETE FROM ${stage} a USING ${stage} b WHERE ${same} AND a.${q(LINE_COLUMN)} < b.${q(LINE_COLUMN)}`);
    dropped += res.rowCount ?? 0;
  }
  return dropped;
}

/**
 * Staging → target, then empties the staging table for the next segment or drops it: a plain
 * insert, or for upsert ON CONFLICT (key) DO UPDATE, or under onConflict 'ignore' the staged rows
 * whose key is not in the target yet. Returns rows written (inserted or updated).
 */
export async function insertStaged(client: pg.PoolClient, plan: LoadPlan, then: 'truncate' | 'drop' = 'drop'): Promise<number> {
  const stage = `pg_temp.${q(STAGING_TABLE)}`;
  const written = plan.insertNew ? await insertNewKeys(client, plan, stage) : (await client.query(insertSql(plan, stage))).rowCount ?? 0;
  await client.query(`${then === 'drop' ? 'DROP TABLE' : 'TRUNCATE'} ${stage}`);
  return written;
}

function insertSql(plan: LoadPlan, stage: string): string {
  const cols = plan.copyColumns.join(', ');
  let conflict = '';
  if (plan.options.mode === 'upsert') {
    const key = new Set(plan.options.key);
    const target = plan.options.key.map(q);
    const updates = plan.copyColumns.filter((_, i) => !key.has(columnName(plan, i)));
    // All-key tables still "update" (a no-op) so every staged row counts as loaded.
    const set = (updates.length > 0 ? updates : target.slice(0, 1)).map((c) => `${c} = EXCLUDED.${c}`);
    conflict = ` ON CONFLICT (${target.join(', ')}) DO UPDATE SET ${set.join(', ')}`;
  }
  return `INSERT INTO ${plan.targetSql} (${cols}) SELECT ${cols} FROM ${stage}${conflict}`;
}

/**
 * Insert-new: rows whose key the target lacks, by one primary-key probe per staged row (OFFSET 0
 * keeps the NOT EXISTS a per-row probe: a hash anti-join would read the whole target for every
 * segment), then a plain insert — cheaper per row than ON CONFLICT's speculative insertion. Staged
 * keys are unique as text; two that differ as text but are equal as values (a UUID in two cases),
 * or a key another writer added meanwhile, collide: only then the segment is inserted again with
 * ON CONFLICT (key) DO NOTHING.
 */
async function insertNewKeys(client: pg.PoolClient, plan: LoadPlan, stage: string): Promise<number> {
  const cols = plan.copyColumns.join(', ');
  const key = plan.options.key.map(q);
  const fresh = `INSERT INTO ${plan.targetSql} (${cols}) SELECT ${cols} FROM ${stage} s
    WHERE NOT EXISTS (SELECT 1 FROM ${plan.targetSql} t WHERE ${key.map((k) => `t.${k} = s.${k}`).join(' AND ')} OFFSET 0)`;
  await client.query('SAVEPOINT tributary_insert_new');
  const res = await client.query(fresh).catch(async (err: unknown) => {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    await client.query('ROLLBACK TO SAVEPOINT tributary_insert_new');
    return client.query(`INSERT INTO ${plan.targetSql} (${cols}) SELECT ${cols} FROM ${stage} ON CONFLICT (${key.join(', ')}) DO NOTHING`);
  });
  await client.query('RELEASE SAVEPOINT tributary_insert_new');
  return res.rowCount ?? 0;
}

function columnName(plan: LoadPlan, i: number): string {
  return i < plan.specs.length ? plan.specs[i].name : (plan.partitionColumn as string);
}
