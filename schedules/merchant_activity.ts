/**
 * W3 merchant_activity: one `activities_YYYYMMDD.csv` of merchant events a day (run param
 * `filePattern`, e.g. `activities.csv` for an undated file). Wait for the day's file, load its
 * events into `merchant_events` once per event_id (a repeat in the file or an event an earlier file
 * already brought is skipped and counted), refuse dirty values to the audit table, record the one
 * allowed coercion (`1,250.00` → 1250.00), then write five reports.
 */
import { z } from 'zod';
import { defineDag } from '../engine/dag.ts';
import type { TaskSpec } from '../engine/types.ts';
import { EVENT_COLUMNS } from './merchant_activity/events.ts';
import {
  FAILURE_RATE_BY_PRODUCT, KYC_FUNNEL, MONTHLY_ACTIVE_MERCHANTS, PRODUCT_ADOPTION, TOP_MERCHANTS,
} from './merchant_activity/reports.ts';

/** A report over the loaded events as of the run's day, one CSV in the report folder. */
const report = (query: string, fileName: string): TaskSpec => ({
  kind: 'report',
  upstream: ['load'],
  options: { query, outputDir: '{params.reportDir}', fileName },
});

export default defineDag({
  id: 'merchant_activity',
  description: 'W3: daily merchant event files → merchant_events (each event once, dirty rows audited) → five reports',
  schedule: { cron: '0 6 * * *', timezone: 'UTC' },
  catchup: true,
  // Days load in order: a repeated event_id belongs to the day that first brought it.
  maxActiveRuns: 1,
  params: {
    dataDir: z.string().default('.tributary/data/merchant_activity').describe('Folder the day\'s events file lands in (inside the data roots)'),
    reportDir: z.string().default('.tributary/reports/merchant_activity').describe('Folder the five reports are written to'),
    filePattern: z.string().default('activities_{yyyymmdd}.csv').describe('File name of the day\'s events, e.g. `activities.csv` for an undated file'),
  },
  tasks: {
    files: {
      kind: 'sensor',
      options: {
        dir: '{params.dataDir}',
        filePattern: '{params.filePattern}',
        minFiles: 1,
        stableForMs: 2_000, // a file still being written keeps changing: wait until its size and mtime hold
        pokeIntervalMs: 60_000,
        timeoutMs: 6 * 3600_000, // until 12:00 UTC; without the day's events its reports would be stale
        onTimeout: 'fail',
      },
    },
    load: {
      kind: 'load',
      upstream: ['files'],
      mapOver: { task: 'files', path: 'files' },
      retries: 2,
      options: {
        source: { fromUpstream: { task: 'files' } },
        target: 'merchant_events',
        // Insert only new event_ids: the first line of an id in a file wins, an id already in
        // the table stays as first loaded; both count in rows_deduplicated.
        mode: 'upsert',
        key: ['event_id'],
        onConflict: 'ignore',
        columns: EVENT_COLUMNS,
        // More than half the day refused is a broken export, not dirty data: fail, load nothing.
        rejectLimit: { warn: { ratio: 0.01 }, fail: { ratio: 0.5 } }, // above 1% the run shows a warning
      },
    },
    top_merchants: report(TOP_MERCHANTS, 'Top_Merchants_{yyyymmdd}.csv'),
    monthly_active_merchants: report(MONTHLY_ACTIVE_MERCHANTS, 'Monthly_Active_Merchants_{yyyymmdd}.csv'),
    product_adoption: report(PRODUCT_ADOPTION, 'Product_Adoption_{yyyymmdd}.csv'),
    kyc_funnel: report(KYC_FUNNEL, 'KYC_Funnel_{yyyymmdd}.csv'),
    failure_rate_by_product: report(FAILURE_RATE_BY_PRODUCT, 'Failure_Rate_By_Product_{yyyymmdd}.csv'),
  },
});
