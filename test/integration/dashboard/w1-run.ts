/**
 * A real W1 run for the dashboard tests: the four shipped DAGs on a test engine (Redis queues),
 * customer_ratings' sensor satisfied by the two hand-checked fixture files (samples/fixtures/w1),
 * one run of 2025-05-13 to its end. The fixture's truth.json is what the tests compare with.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { triggerRun } from '../../../engine/operations.ts';
import type { DagSpec } from '../../../engine/types.ts';
import creditPlatform from '../../../schedules/credit_platform.ts';
import customerRatings from '../../../schedules/customer_ratings.ts';
import merchantActivity from '../../../schedules/merchant_activity.ts';
import transactionsApi from '../../../schedules/transactions_api.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

export const W1_FIXTURES = path.resolve(import.meta.dirname, '../../../samples/fixtures/w1');

export interface W1Truth { files: Array<{ file: string; rows: number; valid: number; rejected: number }> }

export interface W1Run {
  t: TestEngine;
  runId: number;
  truth: W1Truth;
  params: { dataDir: string; reportDir: string };
  close(): Promise<void>;
}

/** customer_ratings with its sensor waiting for the fixture's two agencies, briefly (the DAG file has no test switches). */
function w1WithTwoAgencies(): DagSpec {
  const files = customerRatings.tasks.files;
  const sensor = { ...(files.options as object), minFiles: 2, stableForMs: 50, pokeIntervalMs: 50 };
  return { ...customerRatings, tasks: { ...customerRatings.tasks, files: { ...files, options: sensor } } };
}

export async function startW1Run(): Promise<W1Run> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'trib-ui-'));
  let t: TestEngine | undefined;
  const close = async () => {
    await t?.close();
    await fs.rm(root, { recursive: true, force: true });
  };
  try {
    const params = { dataDir: path.join(root, 'data'), reportDir: path.join(root, 'reports') };
    await fs.mkdir(params.dataDir);
    const truth = JSON.parse(await fs.readFile(path.join(W1_FIXTURES, 'truth.json'), 'utf8')) as W1Truth;
    for (const f of truth.files) await fs.copyFile(path.join(W1_FIXTURES, f.file), path.join(params.dataDir, f.file));
    t = await startTestEngine({ backend: 'redis', dags: [w1WithTwoAgencies(), creditPlatform, merchantActivity, transactionsApi] });
    const { runId } = await triggerRun(t.engine.pool, t.engine.dispatcher, t.dags.get('customer_ratings')!, { date: '2025-05-13', params });
    const state = await t.waitForRun(runId);
    if (state !== 'success') throw new Error(`W1 run ${runId} ended ${state}: ${JSON.stringify(await t.taskStates(runId))}`);
    return { t, runId, truth, params, close };
  } catch (err) {
    await close().catch(() => undefined); // the start's own error is the one to see
    throw err;
  }
}
