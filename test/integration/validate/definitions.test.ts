/**
 * Bad definitions fail early with coded, clear errors (missing table/column, bad identifiers,
 * bad SQL), preflight works in and out of a transaction, and params stay bound values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask } from '../../support/task-context.ts';
import { validateKind, type ValidateOptions } from '../../../jobs/validate/index.ts';
import { TributaryError } from '../../../engine/errors.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(`
    CREATE TABLE public.accounts (id int PRIMARY KEY, owner text, status text);
    INSERT INTO accounts VALUES (1, 'ann', 'open'), (2, 'bob', 'closed'), (3, 'cy', 'open');
    CREATE VIEW public.account_owners AS SELECT owner, status FROM accounts UNION ALL SELECT NULL, 'open';
    CREATE TABLE public.memberships (member_id int PRIMARY KEY, account_id int);
    INSERT INTO memberships VALUES (1, 1), (2, 3), (3, 9);`);
});
afterAll(async () => database.drop());

async function preflightError(raw: Record<string, unknown>): Promise<TributaryError> {
  const options = validateKind.options.parse(raw);
  const client = await database.pool.connect();
  try {
    await validateKind.preflight?.(options, { client });
  } catch (err) {
    if (err instanceof TributaryError) return err;
    throw err;
  } finally {
    client.release();
  }
  throw new Error('preflight did not fail');
}

describe('definitions are checked before a run', () => {
  it('a missing table → TABLE_NOT_FOUND naming the check and the table', async () => {
    const err = await preflightError({ checks: [{ name: 'c1', kind: 'not_null', table: 'acounts', columns: ['id'] }] });
    expect(err.code).toBe('TABLE_NOT_FOUND');
    expect(err.message).toBe('check "c1": table "acounts" does not exist');
  });

  it('a missing column → COLUMN_NOT_FOUND naming column, table and the columns there are', async () => {
    const err = await preflightError({ checks: [{ name: 'c2', kind: 'accepted_values', table: 'accounts', column: 'state', values: ['open'] }] });
    expect(err.code).toBe('COLUMN_NOT_FOUND');
    expect(err.message).toBe('check "c2": column "state" does not exist in table "accounts" (columns: id, owner, status)');
  });

  it('a missing referenced column of a relationship → COLUMN_NOT_FOUND', async () => {
    const err = await preflightError({
      checks: [{ name: 'c3', kind: 'relationship', table: 'accounts', columns: ['id'], to: { table: 'accounts', columns: ['account_id'] } }],
    });
    expect(err.code).toBe('COLUMN_NOT_FOUND');
    expect(err.message).toContain('check "c3" (to): column "account_id"');
  });

  it('a missing column inside expression SQL is caught by planning it (EXPLAIN)', async () => {
    const err = await preflightError({ checks: [{ name: 'c4', kind: 'expression', table: 'accounts', expression: "statuz <> 'x'" }] });
    expect(err.code).toBe('COLUMN_NOT_FOUND');
    expect(err.message).toMatch(/^check "c4": column "statuz" does not exist \(SQLSTATE 42703\) near ".*statuz/);
  });

  it('broken SQL is OPTIONS_INVALID; an unknown placeholder too', async () => {
    const syntax = await preflightError({ checks: [{ name: 'c5', kind: 'custom_sql', table: 'accounts', query: 'SELEC id FROM accounts' }] });
    expect(syntax.code).toBe('OPTIONS_INVALID');
    const placeholder = await preflightError({ checks: [{ name: 'c6', kind: 'not_null', table: 'accounts', columns: ['id'], where: 'id > :limit' }] });
    expect(placeholder.code).toBe('OPTIONS_INVALID');
    expect(placeholder.message).toContain(':limit');
  });

  it('the handler runs the same checks first: nothing is stored for a bad definition', async () => {
    const options = validateKind.options.parse({
      checks: [
        { name: 'ok', kind: 'not_null', table: 'accounts', columns: ['id'] },
        { name: 'bad', kind: 'not_null', table: 'accounts', columns: ['nope'] },
      ],
    });
    await expect(runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '77' })).rejects.toMatchObject({ code: 'COLUMN_NOT_FOUND' });
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM check_results WHERE run_id = 77');
    expect(rows[0].n).toBe(0);
  });

  it('a failed preflight inside a transaction leaves the transaction usable (savepoint)', async () => {
    const options = validateKind.options.parse({ checks: [{ name: 'c7', kind: 'expression', table: 'accounts', expression: 'nope > 1' }] });
    const client = await database.pool.connect();
    try {
      await client.query('BEGIN');
      await expect(validateKind.preflight?.(options, { client })).rejects.toMatchObject({ code: 'COLUMN_NOT_FOUND' });
      const { rows } = await client.query('SELECT count(*)::int AS n FROM accounts');
      expect(rows[0].n).toBe(3);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });
});

describe('identifiers', () => {
  it('the options schema rejects identifiers that are not plain names', () => {
    const parsed = validateKind.options.safeParse({
      checks: [{ name: 'x', kind: 'not_null', table: 'accounts', columns: ['id"; DROP TABLE accounts; --'] }],
    });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('is not a plain SQL identifier');
    expect(validateKind.options.safeParse({ checks: [{ name: 'x', kind: 'not_null', table: 'a.b.c', columns: ['id'] }] }).success).toBe(false);
  });

  it('identifiers are validated again when compiled (options that skipped the schema)', async () => {
    const options = validateKind.options.parse({ checks: [{ name: 'x', kind: 'not_null', table: 'accounts', columns: ['id'] }] });
    const forged = { ...options, checks: [{ ...options.checks[0], alias: 'a b' }] } as ValidateOptions;
    const client = await database.pool.connect();
    try {
      await expect(validateKind.preflight?.(forged, { client })).rejects.toMatchObject({
        code: 'IDENTIFIER_INVALID',
        message: expect.stringContaining('check "x": alias "a b" is not a valid SQL identifier'),
      });
    } finally {
      client.release();
    }
  });

  it('duplicate check names are rejected', () => {
    const parsed = validateKind.options.safeParse({
      checks: [
        { name: 'same', kind: 'not_null', table: 'accounts', columns: ['id'] },
        { name: 'same', kind: 'unique', table: 'accounts', columns: ['id'] },
      ],
    });
    expect(parsed.success).toBe(false);
  });
});

describe('views and declared indexes', () => {
  it('row checks run on a view (no scorecard there); scorecard: true on a view is refused', async () => {
    const options = validateKind.options.parse({
      checks: [
        { name: 'owner_present', kind: 'not_null', table: 'account_owners', columns: ['owner'], severity: 'warn' },
        { name: 'status_unique', kind: 'unique', table: 'account_owners', columns: ['status'], severity: 'warn' },
      ],
    });
    const result = (await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '80' })) as {
      results: Array<{ rows_failing: number }>; scorecards: unknown[];
    };
    expect(result.results.map((r) => r.rows_failing)).toEqual([1, 3]);
    expect(result.scorecards).toEqual([]);
    const forced = validateKind.options.parse({
      checks: [{ name: 'forced', kind: 'not_null', table: 'account_owners', columns: ['owner'], scorecard: true }],
    });
    const client = await database.pool.connect();
    try {
      await expect(validateKind.preflight?.(forced, { client })).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
    } finally {
      client.release();
    }
  });

  it('ensureIndexes creates the missing foreign-key index once; a primary key already covers the referenced side', async () => {
    const options = validateKind.options.parse({
      ensureIndexes: true,
      checks: [{ name: 'member_account', kind: 'relationship', table: 'memberships', columns: ['account_id'], to: { table: 'accounts', columns: ['id'] }, severity: 'warn' }],
    });
    const indexes = async () =>
      (await database.pool.query(`SELECT indexname FROM pg_indexes WHERE indexname LIKE 'trib_%' ORDER BY 1`)).rows.map((r) => r.indexname as string);
    await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '81' });
    const first = await indexes();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^trib_memberships_account_id_[0-9a-f]{8}$/);
    await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '82' });
    expect(await indexes()).toEqual(first);
  });
});

describe('params are bound values, never SQL', () => {
  it('an injection attempt through a run param is compared as a plain string', async () => {
    const options = validateKind.options.parse({
      checks: [{ name: 'by_owner', kind: 'custom_sql', table: 'accounts', query: 'SELECT id FROM accounts WHERE owner = :param_owner', key: ['id'], severity: 'warn' }],
    });
    const evil = "ann' OR '1'='1'; DROP TABLE accounts; --";
    const result = (await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '90', params: { owner: evil } })) as {
      results: Array<{ rows_failing: number }>;
    };
    expect(result.results[0].rows_failing).toBe(0);
    const honest = (await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '91', params: { owner: 'ann' } })) as {
      results: Array<{ rows_failing: number }>;
    };
    expect(honest.results[0].rows_failing).toBe(1);
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM accounts');
    expect(rows[0].n).toBe(3);
  });

  it('a param the run does not have is an ARGUMENT_INVALID error, not a NULL', async () => {
    const options = validateKind.options.parse({
      checks: [{ name: 'p', kind: 'not_null', table: 'accounts', columns: ['id'], where: 'owner = :param_owner' }],
    });
    await expect(runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '92' })).rejects.toMatchObject({
      code: 'ARGUMENT_INVALID',
      message: 'SQL uses :param_owner but the run has no param "owner"',
    });
  });
});
