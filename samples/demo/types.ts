/**
 * A shipped DAG's demo: generate a few days of its data (or start its fake source) and return the
 * run params that point the DAG at it. `npm run demo` and `trib standalone` use these.
 */
import type { Json } from '../../engine/types.ts';

export interface DemoInput {
  /** A folder the demo owns (under .tributary/demo/<dag>). */
  dir: string;
  /** First logical day, YYYY-MM-DD. */
  startDate: string;
  days: number;
  seed: number;
}

export interface DemoData {
  /** Run params for every demo run of the DAG (e.g. { dataDir, reportDir }). */
  params: Record<string, Json>;
  /** Stops what prepare() started (the W4 fake API); called after the runs finish. */
  close?: () => Promise<void>;
}

export interface DemoPipeline {
  dagId: string;
  prepare(input: DemoInput): Promise<DemoData>;
}
