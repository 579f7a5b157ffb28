/**
 * Report files: name from the logical date, atomic replace (and an intact old file when a re-run
 * fails mid-stream), formula cells escaped with negative numbers intact, the `reports` row
 * (rows, bytes, sha256, rows as JSON), params as bound values.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseString } from 'fast-csv';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';
import { runTask, type TestTaskOverrides } from '../../support/task-context.ts';
import { reportKind } from '../../../jobs/report/index.ts';

let database: TestDatabase;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-report-'));
  await database.pool.query(`
    CREATE TABLE public.ratings (agency text, customer int, rating numeric, status text);
    INSERT INTO ratings VALUES
      ('acme', 1, 10.5, 'high-value'), ('acme', 2, -12.5, '=HYPERLINK("http://evil","x")'),
      ('globex', 3, 7, '+1+2'), ('globex', 4, 0, '@SUM(A1)'), ('initech', 5, -0.0, E'\\tcmd'), ('initech', 6, 3, E'\\rx'),
      ('initech', 7, 1, '-2+3'), ('initech', 8, 2, 'plain, with comma');`);
});
afterAll(async () => {
  await database.drop();
  await fs.rm(dir, { recursive: true, force: true });
});

async function report(raw: Record<string, unknown>, overrides: TestTaskOverrides = {}) {
  const options = reportKind.options.parse({ outputDir: dir, ...raw });
  return (await runTask(database.pool, (ctx) => reportKind.handler(ctx, options), overrides)) as {
    path: string; file: string; rows: number; bytes: number; sha256: string; rows_truncated: boolean;
  };
}

async function readCsv(file: string): Promise<string[][]> {
  const text = await fs.readFile(file, 'utf8');
  return new Promise((resolve, reject) => {
    const rows: string[][] = [];
    parseString<string[], string[]>(text)
      .on('data', (row: string[]) => rows.push(row))
      .on('error', reject)
      .on('end', () => resolve(rows));
  });
}

const QUERY = 'SELECT customer, agency, rating, status FROM ratings ORDER BY customer';

describe('report', () => {
  it('names the file from the logical date (in the given timezone)', async () => {
    const utc = await report({ query: QUERY, fileName: 'Customer_Rating_Aggregate_Report_{yyyymmdd}.csv' }, { runId: '1', logicalDate: new Date('2025-05-13T06:00:00Z') });
    expect(utc.file).toBe('Customer_Rating_Aggregate_Report_20250513.csv');
    expect(utc.path).toBe(path.join(dir, utc.file));
    const tokyo = await report(
      { query: QUERY, fileName: 'ratings_{yyyy-mm-dd}.csv', timezone: 'Asia/Tokyo' },
      { runId: '2', logicalDate: new Date('2025-05-12T22:30:00Z') },
    );
    expect(tokyo.file).toBe('ratings_2025-05-13.csv');
  });

  it('escapes formula cells and keeps plain negative numbers', async () => {
    const out = await report({ query: QUERY, fileName: 'escape_{yyyymmdd}.csv' }, { runId: '3' });
    const rows = await readCsv(out.path);
    expect(rows[0]).toEqual(['customer', 'agency', 'rating', 'status']);
    expect(rows.slice(1).map((r) => [r[2], r[3]])).toEqual([
      ['10.5', 'high-value'],
      ['-12.5', `'=HYPERLINK("http://evil","x")`],
      ['7', "'+1+2"],
      ['0', "'@SUM(A1)"],
      ['0.0', "'\tcmd"],
      ['3', "'\rx"],
      ['1', "'-2+3"],
      ['2', 'plain, with comma'],
    ]);
  });

  it('records the file in reports: rows, bytes, sha256 and the rows as JSON', async () => {
    const out = await report({ query: QUERY, fileName: 'recorded_{yyyymmdd}.csv' }, { runId: '4', taskId: 'agg' });
    const bytes = await fs.readFile(out.path);
    const { rows } = await database.pool.query('SELECT * FROM reports WHERE run_id = 4 AND task_id = $1', ['agg']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      path: out.path, file_name: 'recorded_20250513.csv', row_count: 8, bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'), columns: ['customer', 'agency', 'rating', 'status'], rows_truncated: false,
    });
    expect(rows[0].rows[1]).toEqual({ customer: 2, agency: 'acme', rating: '-12.5', status: '=HYPERLINK("http://evil","x")' });
    expect(out).toMatchObject({ rows: 8, bytes: bytes.length });
  });

  it('keeps at most keepRows rows as JSON; the file has all of them', async () => {
    const out = await report({ query: QUERY, fileName: 'capped.csv', keepRows: 3 }, { runId: '5' });
    const { rows } = await database.pool.query('SELECT row_count, jsonb_array_length(rows) AS kept, rows_truncated FROM reports WHERE run_id = 5');
    expect(rows[0]).toEqual({ row_count: 8, kept: 3, rows_truncated: true });
    expect(await readCsv(out.path)).toHaveLength(9);
  });

  it('re-running a run replaces the file atomically and its reports row; no temp files remain', async () => {
    const first = await report({ query: 'SELECT 1 AS n', fileName: 'rerun_{yyyymmdd}.csv' }, { runId: '6' });
    const second = await report({ query: 'SELECT n FROM generate_series(1, 2500) n', fileName: 'rerun_{yyyymmdd}.csv' }, { runId: '6' });
    expect(second.path).toBe(first.path);
    expect(await readCsv(second.path)).toHaveLength(2501);
    const { rows } = await database.pool.query('SELECT row_count FROM reports WHERE run_id = 6');
    expect(rows).toEqual([{ row_count: 2500 }]);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a re-run failing mid-stream leaves the previous file intact and no temp file', async () => {
    const good = await report({ query: 'SELECT 1 AS n', fileName: 'fragile.csv' }, { runId: '7' });
    const before = await fs.readFile(good.path, 'utf8');
    const failing = reportKind.options.parse({
      outputDir: dir, fileName: 'fragile.csv', query: 'SELECT n, 1 / (n - 1500) AS boom FROM generate_series(1, 2000) n',
    });
    await expect(runTask(database.pool, (ctx) => reportKind.handler(ctx, failing), { runId: '7' })).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
    expect(await fs.readFile(good.path, 'utf8')).toBe(before);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const { rows } = await database.pool.query('SELECT row_count FROM reports WHERE run_id = 7');
    expect(rows).toEqual([{ row_count: 1 }]);
  });

  it('an empty result still writes the header', async () => {
    const out = await report({ query: "SELECT agency, rating FROM ratings WHERE agency = 'none'", fileName: 'empty.csv' }, { runId: '8' });
    expect(out.rows).toBe(0);
    expect(await fs.readFile(out.path, 'utf8')).toBe('agency,rating\n');
  });

  it('dates and params are bound: an injection attempt is only a value', async () => {
    const query = `SELECT customer, :param_label::text AS label, to_char(:logical_date::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS at
                   FROM ratings WHERE agency = :param_agency ORDER BY customer`;
    const evil = await report({ query, fileName: 'params_evil.csv' }, {
      runId: '9', params: { agency: "acme' OR '1'='1", label: "x'); DROP TABLE ratings; --" },
    });
    expect(evil.rows).toBe(0);
    const honest = await report({ query, fileName: 'params.csv' }, { runId: '10', params: { agency: 'acme', label: "x'); DROP TABLE ratings; --" } });
    const rows = await readCsv(honest.path);
    expect(rows.slice(1).map((r) => r.slice(0, 2))).toEqual([['1', "x'); DROP TABLE ratings; --"], ['2', "x'); DROP TABLE ratings; --"]]);
    expect(rows[1][2]).toBe('2025-05-13 00:00');
    const { rows: count } = await database.pool.query('SELECT count(*)::int AS n FROM ratings');
    expect(count[0].n).toBe(8);
  });

  it('bad definitions: a missing param, a missing column, a bad file name template', async () => {
    await expect(report({ query: 'SELECT :param_nope AS x', fileName: 'x.csv' }, { runId: '11' })).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    const options = reportKind.options.parse({ outputDir: dir, fileName: 'x.csv', query: 'SELECT ratingz FROM ratings' });
    const client = await database.pool.connect();
    try {
      await expect(reportKind.preflight?.(options, { client })).rejects.toMatchObject({ code: 'COLUMN_NOT_FOUND' });
    } finally {
      client.release();
    }
    expect(reportKind.options.safeParse({ outputDir: dir, query: 'SELECT 1', fileName: 'r_{date}.csv' }).success).toBe(false);
    expect(reportKind.options.safeParse({ outputDir: dir, query: 'SELECT 1', fileName: '../r.csv' }).success).toBe(false);
  });
});
