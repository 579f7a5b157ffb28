/**
 * W2 credit platform (WORKLOADS.md): every day at 07:00 UTC, wait for the ten extracts
 * `<table>_YYYYMMDD.csv` in `dataDir` (run param `filePattern`, e.g. `{table}.csv`), upsert each into `credit_platform.<table>` parents first,
 * then check quality and reconcile, and write three reports to `reportDir`: the quality scorecard
 * per table, every check with its failing count, and seller health. Dirty data is reported, not
 * fatal; re-running a day or re-loading a file changes nothing (upsert by key + the file ledger).
 */
import { z } from 'zod';
import { defineDag } from '../engine/dag.ts';
import type { TaskSpec, TriggerRule } from '../engine/types.ts';
import { checksOn } from './credit_platform/checks.ts';
import { loadOptionsOf } from './credit_platform/loads.ts';
import { CREDIT_TABLES, FOREIGN_KEYS, type CreditTable } from './credit_platform/model.ts';
import { ITEM_AND_FILE_RECONCILIATIONS, WALLET_AND_CREDIT_RECONCILIATIONS } from './credit_platform/reconciliations.ts';
import { CHECKS_QUERY, SCORECARD_QUERY } from './credit_platform/reports.ts';
import { SELLER_HEALTH_QUERY } from './credit_platform/seller-health.ts';

const load = (table: CreditTable) => `load_${table}`;

/** A table loads after the tables it references (foreign-key order), its file from the sensor's result. */
function loadTask(table: CreditTable): TaskSpec {
  const parents = [...new Set(FOREIGN_KEYS.filter((f) => f.table === table).map((f) => load(f.parent)))];
  return { kind: 'load', upstream: ['extracts', ...parents], options: loadOptionsOf(table) };
}

const loads = Object.fromEntries(CREDIT_TABLES.map((table) => [load(table), loadTask(table)]));
const allLoads = CREDIT_TABLES.map(load);
/** invoice_items (138k of the ~219k rows) loads last; what does not read it runs meanwhile. */
const beforeItems = CREDIT_TABLES.filter((table) => table !== 'invoice_items');

const report = (fileName: string, query: string, upstream: string[], triggerRule: TriggerRule = 'all_success'): TaskSpec => ({
  kind: 'report',
  upstream,
  triggerRule,
  options: { query, outputDir: '{params.reportDir}', fileName },
});

export default defineDag({
  id: 'credit_platform',
  description: 'W2: ten credit-platform extracts → upsert in FK order → checks, reconciliations → scorecard, checks, seller health',
  schedule: { cron: '0 7 * * *', timezone: 'UTC' },
  catchup: false,
  optionDefaults: { load: { rejectLimit: { warn: { ratio: 0.01 } } } }, // more than 1% of a file refused: the run shows it
  params: {
    dataDir: z.string().default('.tributary/data/credit_platform').describe('Folder the ten extracts land in (inside the data roots)'),
    reportDir: z.string().default('.tributary/reports/credit_platform').describe('Folder the three reports are written to'),
    filePattern: z.string().default('{table}_{yyyymmdd}.csv')
      .describe('File name of one extract; `{table}` is one of the ten table names, `{table}.csv` takes undated extracts'),
  },
  tasks: {
    extracts: {
      kind: 'sensor',
      options: {
        dir: '{params.dataDir}',
        filePattern: '{params.filePattern}',
        values: { table: [...CREDIT_TABLES] },
        minFiles: CREDIT_TABLES.length,
        stableForMs: 2_000, // an extract still being written keeps changing: wait until its size and mtime hold
        pokeIntervalMs: 60_000,
        timeoutMs: 6 * 3600_000,
        onTimeout: 'fail', // half a day's extracts would orphan every child of a missing table
      },
    },
    ...loads,
    validate: { kind: 'validate', upstream: beforeItems.map(load), options: checksOn(beforeItems) },
    validate_invoice_items: { kind: 'validate', upstream: [load('invoice_items')], options: checksOn(['invoice_items']) },
    reconcile_wallet_credits: {
      kind: 'reconcile',
      upstream: [load('wallet_transactions'), load('invoices'), load('credit_histories')],
      options: WALLET_AND_CREDIT_RECONCILIATIONS,
    },
    reconcile: { kind: 'reconcile', upstream: allLoads, options: ITEM_AND_FILE_RECONCILIATIONS },
    // The quality reports are written even when a check failed the run (all_done).
    report_scorecard: report('credit_platform_scorecard_{yyyymmdd}.csv', SCORECARD_QUERY, ['validate', 'validate_invoice_items'], 'all_done'),
    report_checks: report(
      'credit_platform_checks_{yyyymmdd}.csv', CHECKS_QUERY,
      ['validate', 'validate_invoice_items', 'reconcile_wallet_credits', 'reconcile'], 'all_done',
    ),
    report_seller_health: report(
      'credit_platform_seller_health_{yyyymmdd}.csv', SELLER_HEALTH_QUERY,
      (['sellers', 'credits', 'leads', 'wallet_transactions'] as const).map(load),
    ),
  },
});
