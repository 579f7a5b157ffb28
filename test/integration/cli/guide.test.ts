/**
 * docs/guide.md works as written: its CSV and its DAG (importing `tributary`) are taken from the
 * page, validated and run with `trib dags test`; what it says the run does is checked in Postgres.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, REPO, trib } from '../../support/cli.ts';
import { createTestDatabase, redisUrl, uniquePrefix, type TestDatabase } from '../../support/db.ts';

/** The body of the first fenced block of `lang` whose text starts with `first` (or any). */
function block(markdown: string, lang: string, first = ''): string {
  for (const m of markdown.matchAll(/```(\w+)\n([\s\S]*?)```/g)) {
    if (m[1] === lang && m[2].startsWith(first)) return m[2];
  }
  throw new Error(`docs/guide.md has no \`\`\`${lang} block starting with ${first}`);
}

let database: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;
let csv: string;

beforeAll(async () => {
  const guide = await fs.readFile(path.join(REPO, 'docs', 'guide.md'), 'utf8');
  csv = block(guide, 'csv');
  database = await createTestDatabase();
  // Inside the checkout (test-output/ is ignored) so `import … from 'tributary'` resolves to this package.
  dir = await fs.mkdtemp(path.join(REPO, 'test-output', 'guide-'));
  await fs.mkdir(path.join(dir, 'dags'));
  await fs.mkdir(path.join(dir, 'data'));
  await fs.writeFile(path.join(dir, 'dags', 'orders.ts'), block(guide, 'ts', '// dags/orders.ts'));
  await fs.writeFile(path.join(dir, 'data', 'orders_20250513.csv'), csv);
  env = cliEnv({
    DATABASE_URL: database.url, QUEUE_BACKEND: 'redis', REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('tguide'),
    DAGS_DIR: path.join(dir, 'dags'), DATA_ROOTS: dir,
  });
  expect((await trib(['migrate'], env)).code).toBe(0);
});

afterAll(async () => {
  await database?.drop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const sql = async <R extends object>(text: string) => (await database.pool.query<R>(text)).rows;

describe('docs/guide.md', () => {
  it('its DAG validates', async () => {
    const r = await trib(['dags', 'validate'], env);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok: 1 DAG(s) in 1 file(s): orders\n');
  });

  it('runs as the guide says: 4 of 8 rows refused and audited, coercions recorded, a warning check, the report', async () => {
    const params = JSON.stringify({ dataDir: path.join(dir, 'data'), reportDir: path.join(dir, 'reports') });
    const r = await trib(['dags', 'test', 'orders', '--date', '2025-05-13', '--params', params], env, 120_000);
    expect(r.code, r.stderr).toBe(0);
    // The one log line at LOG_LEVEL warn: the warning the guide announces (more than 1%, not more than half).
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('orders_20250513.csv: 4 of 8 rows refused (50.00%), above the warn limit ratio 0.01');
    const read = (parse(csv, { columns: true }) as unknown[]).length; // a reference parser's count
    expect(read).toBe(8);
    expect(r.stdout.split('\n').find((l) => l.startsWith('load '))).toContain(`${read} read, 4 loaded, 4 rejected`);

    expect(await sql('SELECT order_id, customer, amount::text, currency, ordered_on::text, coupon FROM orders ORDER BY order_id')).toEqual([
      { order_id: 1001, customer: 'ann@example.com', amount: '1250.00', currency: 'EUR', ordered_on: '2025-05-13', coupon: null },
      { order_id: 1002, customer: 'bob@example.com', amount: '20.00', currency: 'USD', ordered_on: '2025-05-13', coupon: 'SPRING' },
      { order_id: 1003, customer: 'cy@example.com', amount: '5.00', currency: 'USD', ordered_on: '2025-05-13', coupon: null },
      { order_id: 1007, customer: 'fay@example.com', amount: '-3.00', currency: 'EUR', ordered_on: '2025-05-13', coupon: null },
    ]);
    // Lines are physical (header = 1): the second 1003, 1004, 1005, 1006.
    const rejects = await sql<{ line: number; rules: string[] }>(
      `SELECT line::int, array(SELECT e->>'rule' FROM jsonb_array_elements(errors) e) AS rules FROM audit.orders_rejects ORDER BY line`);
    expect(rejects.map((x) => x.line)).toEqual([5, 6, 7, 8]);
    expect(rejects.find((x) => x.line === 6)?.rules).toEqual(['required']);
    const coercions = await sql<{ column: string; coercion: string; value: string; coerced: string }>(
      'SELECT "column", coercion, value, coerced FROM audit.orders_coercions ORDER BY line, id');
    expect(coercions).toEqual(expect.arrayContaining([
      expect.objectContaining({ column: 'amount', coercion: 'thousands_separator', value: '1,250.00' }),
      expect.objectContaining({ column: 'currency', coercion: 'uppercase', value: 'eur', coerced: 'EUR' }),
      expect.objectContaining({ column: 'amount', coercion: 'round', value: '19.999' }),
    ]));

    const report = await fs.readFile(path.join(dir, 'reports', 'revenue_20250513.csv'), 'utf8');
    expect(report.trim().split('\n')).toEqual(['currency,orders,revenue', 'EUR,2,1247.00', 'USD,2,25.00']);
    expect(await sql(`SELECT check_name, rows_evaluated::int, rows_failing::int, outcome FROM check_results ORDER BY check_name`)).toEqual([
      { check_name: 'amount_not_negative', rows_evaluated: 4, rows_failing: 1, outcome: 'warn' }, // order 1007
      { check_name: 'one_row_per_order', rows_evaluated: 4, rows_failing: 0, outcome: 'pass' },
    ]);
  });
});
