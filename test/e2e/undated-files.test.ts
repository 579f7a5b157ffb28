/**
 * The shipped DAGs on folders of undated files, through the real engine: the run param
 * `filePattern` replaces the dated default (`{agency}.csv` for W1, `activities.csv` for W3,
 * `{table}.csv` for W2), and every file is found and loaded — counted against the files we wrote
 * (W1) or the generators' truth (W2, W3).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { triggerRun } from '../../engine/operations.ts';
import type { Json } from '../../engine/types.ts';
import { generateCreditPlatform, type W2Truth } from '../../samples/w2-credit-platform.ts';
import { generateMerchantActivity, type W3Truth } from '../../samples/w3-merchant-activity.ts';
import creditPlatform from '../../schedules/credit_platform.ts';
import customerRatings from '../../schedules/customer_ratings.ts';
import merchantActivity from '../../schedules/merchant_activity.ts';
import { expectedRowCounts, tableRowCounts } from '../integration/db/credit-platform.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const DAY = '2025-05-13';
const HEADER = 'customer_number,customer_rating,customer_rating_limit,customer_status';
/** Our own agency files: valid rows per agency, plus one refused row (customer_number 0) in globex. */
const AGENCY_ROWS: Record<string, string[]> = {
  acme: ['1,5,10,high-value', '2,3,10,standard', '3,4,10,standard', '4,1,10,churned'],
  globex: ['10,2,5,standard', '11,5,5,high-value', '12,0,5,standard', '0,1,5,standard'],
  initech: ['20,3,8,standard', '21,4,8,high-value'],
};

let t: TestEngine;
let root: string;
let w2: W2Truth;
let w3: W3Truth;

/** Renames `<name>_YYYYMMDD.csv` files of a folder to `<name>.csv`. */
async function undate(dir: string): Promise<string[]> {
  const renamed: string[] = [];
  for (const name of await fs.readdir(dir)) {
    const m = /^(.+)_\d{8}\.csv$/.exec(name);
    if (!m) continue;
    await fs.rename(path.join(dir, name), path.join(dir, `${m[1]}.csv`));
    renamed.push(`${m[1]}.csv`);
  }
  return renamed.sort();
}

async function run(dagId: string, params: Record<string, Json>): Promise<number> {
  const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get(dagId)!, { date: DAY, params });
  expect(await t.waitForRun(runId, 60_000), dagId).toBe('success');
  return runId;
}

const loadedFiles = async (runId: number) =>
  (await t.database.pool.query<{ path: string }>(
    `SELECT DISTINCT f->>'path' AS path FROM task_instances ti, jsonb_array_elements(ti.result->'files') f
     WHERE ti.run_id = $1 AND ti.queue = 'load' AND ti.state = 'success' AND jsonb_typeof(ti.result) = 'object'`, [runId],
  )).rows.map((r) => path.basename(r.path)).sort();

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'undated-'));
  for (const dag of ['w1', 'w2', 'w3']) await fs.mkdir(path.join(root, dag, 'data'), { recursive: true });
  for (const [agency, rows] of Object.entries(AGENCY_ROWS)) {
    await fs.writeFile(path.join(root, 'w1/data', `${agency}.csv`), [HEADER, ...rows, ''].join('\n'));
  }
  w2 = await generateCreditPlatform({ dir: path.join(root, 'w2/data'), seed: 3, size: 0.02, days: 1, startDate: DAY });
  w3 = await generateMerchantActivity({ dir: path.join(root, 'w3/data'), seed: 4, size: 300, days: 1, startDate: DAY });
  expect(await undate(path.join(root, 'w2/data'))).toHaveLength(10);
  expect(await undate(path.join(root, 'w3/data'))).toEqual(['activities.csv']);
  t = await startTestEngine({ backend: 'redis', dags: [customerRatings, creditPlatform, merchantActivity] });
}, 120_000);

afterAll(async () => {
  await t?.close();
  await fs.rm(root, { recursive: true, force: true });
});

const params = (dag: string, filePattern: string) => ({ dataDir: path.join(root, dag, 'data'), reportDir: path.join(root, dag, 'reports'), filePattern });

it('W1 loads undated agency files with filePattern {agency}.csv, each into its agency', { timeout: 60_000 }, async () => {
  const runId = await run('customer_ratings', params('w1', '{agency}.csv'));
  expect(await loadedFiles(runId)).toEqual(['acme.csv', 'globex.csv', 'initech.csv']);
  const { rows } = await t.database.pool.query<{ agency: string; n: number }>(
    'SELECT agency, count(*)::int AS n FROM customer_ratings GROUP BY agency ORDER BY agency',
  );
  expect(rows).toEqual([{ agency: 'acme', n: 4 }, { agency: 'globex', n: 3 }, { agency: 'initech', n: 2 }]);
});

it('W3 loads an undated activities.csv with filePattern activities.csv', { timeout: 60_000 }, async () => {
  const runId = await run('merchant_activity', params('w3', 'activities.csv'));
  expect(await loadedFiles(runId)).toEqual(['activities.csv']);
  const { rows } = await t.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM merchant_events');
  expect(rows[0].n).toBe(w3.files[0].loaded);
});

it('W2 loads a folder of undated extracts with filePattern {table}.csv', { timeout: 90_000 }, async () => {
  const runId = await run('credit_platform', params('w2', '{table}.csv'));
  const tables = Object.keys(expectedRowCounts(w2.extracts[0])).sort();
  expect(await loadedFiles(runId)).toEqual(tables.map((table) => `${table}.csv`).sort());
  expect(await tableRowCounts(t.database.pool)).toEqual(expectedRowCounts(w2.extracts[0]));
});
