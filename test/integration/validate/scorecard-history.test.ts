/**
 * Scorecard arithmetic with overlapping failures (a row failing two checks counts once) and
 * history: results of two runs are both kept, never overwritten.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask } from '../../support/task-context.ts';
import { validateKind } from '../../../jobs/validate/index.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query(`
    CREATE TABLE public.people (id int PRIMARY KEY, name text, age int, email text);
    INSERT INTO people VALUES
      (1, NULL, 30, 'a@x'), (2, NULL, 31, 'b@x'), (3, NULL, 200, 'c@x'), (4, 'd', -1, 'bad'), (5, 'e', 33, 'bad'),
      (6, 'f', 34, 'f@x'), (7, 'g', 35, 'g@x'), (8, 'h', 36, 'h@x'), (9, 'i', 37, 'i@x'), (10, 'j', 99, 'j@x');
    CREATE TABLE public.pets (pet_id int PRIMARY KEY, owner_id int);
    INSERT INTO pets VALUES (1, 1), (2, 2), (3, 42), (4, 43);`);
});
afterAll(async () => database.drop());

const CHECKS = [
  { name: 'name_present', kind: 'not_null', table: 'people', columns: ['name'], severity: 'warn' }, // 1, 2, 3
  { name: 'age_range', kind: 'range', table: 'people', column: 'age', min: 0, max: 120, severity: 'warn' }, // 3, 4
  { name: 'email_shape', kind: 'expression', table: 'people', expression: "email LIKE '%@%'", severity: 'warn' }, // 4, 5
  { name: 'custom_six', kind: 'custom_sql', table: 'people', query: 'SELECT id FROM people WHERE id IN (5, 6)', key: ['id'], severity: 'warn' }, // 5, 6
  { name: 'not_counted', kind: 'expression', table: 'people', expression: 'id <> 7', severity: 'warn', scorecard: false }, // 7
  { name: 'age_outlier', kind: 'outlier', table: 'people', column: 'age', percentile: 0.5 }, // info: not counted
  { name: 'owners', kind: 'relationship', table: 'pets', columns: ['owner_id'], to: { table: 'people', columns: ['id'] }, severity: 'warn' },
  { name: 'people_count', kind: 'row_count', table: 'people', min: 1, severity: 'warn' },
];

describe('quality scorecard', () => {
  it('counts a row failing several checks once; info and scorecard:false checks do not count', async () => {
    const options = validateKind.options.parse({ checks: CHECKS });
    const result = (await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '500' })) as {
      scorecards: Array<Record<string, unknown>>;
    };
    expect(result.scorecards).toEqual([
      {
        table: 'people', total_rows: 10, clean_rows: 4, rows_with_issues: 6, rows_refused: 0, score: 40,
        checks: ['name_present', 'age_range', 'email_shape', 'custom_six'],
      },
      { table: 'pets', total_rows: 4, clean_rows: 2, rows_with_issues: 2, rows_refused: 0, score: 50, checks: ['owners'] },
    ]);
    const { rows } = await database.pool.query(
      'SELECT table_name, total_rows, clean_rows, rows_with_issues, score FROM quality_scorecards WHERE run_id = 500 ORDER BY id',
    );
    expect(rows).toEqual([
      { table_name: 'people', total_rows: 10, clean_rows: 4, rows_with_issues: 6, score: '40.00' },
      { table_name: 'pets', total_rows: 4, clean_rows: 2, rows_with_issues: 2, score: '50.00' },
    ]);
  });

  it('no scorecard when disabled', async () => {
    const options = validateKind.options.parse({ checks: CHECKS, scorecard: false });
    const result = (await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '501' })) as { scorecards: unknown[] };
    expect(result.scorecards).toEqual([]);
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM quality_scorecards WHERE run_id = 501');
    expect(rows[0].n).toBe(0);
  });
});

describe('history', () => {
  it('keeps the results of every run; a second run does not overwrite the first', async () => {
    const options = validateKind.options.parse({ checks: [CHECKS[0]] });
    await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '601', taskId: 'quality' });
    await database.pool.query('UPDATE people SET name = $1 WHERE id = 1', ['fixed']);
    await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '602', taskId: 'quality' });
    await runTask(database.pool, (ctx) => validateKind.handler(ctx, options), { runId: '602', taskId: 'quality', tryNumber: 2 });
    const { rows } = await database.pool.query(
      `SELECT run_id, try_number, rows_failing, sample_keys FROM check_results WHERE check_name = 'name_present' AND task_id = 'quality' ORDER BY id`,
    );
    expect(rows).toEqual([
      { run_id: 601, try_number: 1, rows_failing: 3, sample_keys: [{ id: 1 }, { id: 2 }, { id: 3 }] },
      { run_id: 602, try_number: 1, rows_failing: 2, sample_keys: [{ id: 2 }, { id: 3 }] },
      { run_id: 602, try_number: 2, rows_failing: 2, sample_keys: [{ id: 2 }, { id: 3 }] },
    ]);
    const cards = await database.pool.query(
      `SELECT run_id, rows_with_issues FROM quality_scorecards WHERE task_id = 'quality' ORDER BY id`,
    );
    expect(cards.rows).toEqual([{ run_id: 601, rows_with_issues: 3 }, { run_id: 602, rows_with_issues: 2 }, { run_id: 602, rows_with_issues: 2 }]);
  });
});
