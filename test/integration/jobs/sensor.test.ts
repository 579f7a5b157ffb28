/**
 * The sensor through the real engine: satisfied at once, waits for a late file without holding
 * a worker slot, and at the deadline fails or continues as configured; downstream maps over files.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDag } from '../../../engine/dag.ts';
import { triggerRun } from '../../../engine/operations.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

let dir: string;
const dag = (id: string, onTimeout: 'fail' | 'continue', timeoutMs: number) =>
  defineDag({
    id,
    tasks: {
      wait: {
        kind: 'sensor',
        options: {
          dir: '{dir}',
          pattern: '^(?<partition>[a-z]+)_{yyyymmdd}\\.csv$',
          minFiles: 2,
          pokeIntervalMs: 50,
          timeoutMs,
          onTimeout,
        },
      },
      each: { kind: 'effect', upstream: ['wait'], mapOver: { task: 'wait', path: 'files' } },
    },
  });

describe('sensor job', () => {
  let t: TestEngine;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sensor-'));
    const specs = [dag('strict', 'fail', 1500), dag('lenient', 'continue', 300)].map((d) =>
      JSON.parse(JSON.stringify(d).replaceAll('{dir}', dir)),
    );
    t = await startTestEngine({ backend: 'redis', dags: specs });
  });
  afterAll(async () => {
    await t?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('waits for the late file, then maps over every file with its partition', async () => {
    await fs.writeFile(path.join(dir, 'acme_20250513.csv'), 'a\n');
    await fs.writeFile(path.join(dir, 'acme_20250514.csv'), 'other day\n');
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('strict')!, { date: '2025-05-13' });
    await new Promise((r) => setTimeout(r, 300));
    const waiting = await t.database.pool.query(`SELECT state, pokes FROM task_instances WHERE run_id = $1 AND task_id = 'wait'`, [runId]);
    expect(['queued', 'running']).toContain(waiting.rows[0].state);
    expect(waiting.rows[0].pokes).toBeGreaterThan(0);
    await fs.writeFile(path.join(dir, 'globex_20250513.csv'), 'b\n');
    expect(await t.waitForRun(runId)).toBe('success');
    const { rows } = await t.database.pool.query(
      `SELECT map_item FROM task_instances WHERE run_id = $1 AND task_id = 'each' AND map_index >= 0 ORDER BY map_index`,
      [runId],
    );
    expect(rows.map((r) => [path.basename(r.map_item.path), r.map_item.partition])).toEqual([
      ['acme_20250513.csv', 'acme'],
      ['globex_20250513.csv', 'globex'],
    ]);
  });

  it('at the deadline fails with SENSOR_TIMEOUT when configured to fail', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('strict')!, { date: '2025-05-15' });
    expect(await t.waitForRun(runId)).toBe('failed');
    const { rows } = await t.database.pool.query(`SELECT state, error_code FROM task_instances WHERE run_id = $1 ORDER BY task_id`, [runId]);
    expect(rows).toEqual([
      { state: 'upstream_failed', error_code: null },
      { state: 'failed', error_code: 'SENSOR_TIMEOUT' },
    ]);
  });

  it('at the deadline continues with what arrived when configured to continue', async () => {
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('lenient')!, { date: '2025-05-14' });
    expect(await t.waitForRun(runId)).toBe('success');
    const { rows } = await t.database.pool.query(`SELECT result FROM task_instances WHERE run_id = $1 AND task_id = 'wait'`, [runId]);
    expect(rows[0].result.timedOut).toBe(true);
    expect(rows[0].result.files.map((f: { partition: string }) => f.partition)).toEqual(['acme']);
  });
});
