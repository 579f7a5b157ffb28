/**
 * The load job as tasks of a DAG through the real engine: a sensor finds the day's agency files,
 * one mapped load per file replaces that agency's rows, refused rows land in the audit table.
 * Data: the hand-checked W1 fixture (samples/fixtures/w1).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { BACKENDS, startTestEngine, type TestEngine } from '../../support/engine.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../../samples/fixtures/w1');

function ratingsDag(dir: string) {
  return defineDag({
    id: 'ratings',
    tasks: {
      files: {
        kind: 'sensor',
        options: { dir, pattern: '^(?<partition>[a-z]+)_{yyyymmdd}\\.csv$', minFiles: 2, pokeIntervalMs: 50, timeoutMs: 5000 },
      },
      load: {
        kind: 'load',
        upstream: ['files'],
        mapOver: { task: 'files', path: 'files' },
        options: {
          source: { fromUpstream: { task: 'files' } },
          target: 'customer_ratings',
          mode: 'replace-partition',
          partition: { column: 'agency', value: 'from-file' },
          key: ['agency', 'customer_number'],
          columns: [
            { name: 'customer_number', type: 'integer', min: 1 },
            { name: 'customer_rating', type: 'integer', min: 0 },
            { name: 'customer_rating_limit', type: 'integer', min: 0 },
            { name: 'customer_status', type: 'text', minLength: 1, maxLength: 25 },
          ],
        },
      },
    },
  });
}

describe.each(BACKENDS)('load job through the engine (%s)', (backend) => {
  let t: TestEngine;
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'w1-'));
    for (const f of ['acme_20250513.csv', 'globex_20250513.csv']) await fs.copyFile(path.join(FIXTURES, f), path.join(dir, f));
    t = await startTestEngine({ backend, dags: [ratingsDag(dir)] });
  });
  afterAll(async () => {
    await t?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('loads each agency file into its partition and audits the refused rows', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('ratings')!, { date: '2025-05-13' });
    expect(await t.waitForRun(runId)).toBe('success');
    const counts = await t.database.pool.query(
      'SELECT agency, count(*)::int AS n, sum(customer_rating)::int AS s FROM customer_ratings GROUP BY agency ORDER BY agency',
    );
    // samples/fixtures/w1/expected_report_20250513.csv, computed by hand.
    expect(counts.rows).toEqual([
      { agency: 'acme', n: 9, s: 437 },
      { agency: 'globex', n: 10, s: 404 },
    ]);
    const rejects = await t.database.pool.query(
      `SELECT count(*)::int AS n FROM audit.customer_ratings_rejects WHERE run_id = $1`,
      [runId],
    );
    expect(rejects.rows[0].n).toBe(10);
    const result = await t.database.pool.query(
      `SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'load' AND map_index = -1`,
      [runId],
    );
    for (const r of result.rows[0].result) expect(r.rows_read).toBe(r.rows_loaded + r.rows_rejected + r.rows_deduplicated);
  });
});
