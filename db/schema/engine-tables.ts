/**
 * The tables Tributary owns (the engine's state, ledgers, results, the outbox): they live in the
 * engine's schema (TRIBUTARY_SCHEMA), where `migrate` moves them from `public` on installs made
 * before the schema existed. A table added here is moved on the next migrate.
 */
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { auditEvents } from './audit-events.ts';
import { callbackEvents } from './callbacks.ts';
import { dashboardSessions } from './dashboard-sessions.ts';
import { dashboardTokens, dashboardUsers } from './dashboard-users.ts';
import { dagRuns, dags, dagTasks, taskAttempts, taskInstances, taskLogs, taskTries } from './engine.ts';
import { extractWatermarks } from './extract.ts';
import { fileEffects } from './file-effects.ts';
import { loadLedger } from './load.ts';
import { checkResults, qualityScorecards, reconcileMismatches, reconcileResults, reports } from './quality.ts';

const OWNED: PgTable[] = [
  dags, dagTasks, dagRuns, taskInstances, taskTries, taskAttempts, taskLogs, callbackEvents,
  loadLedger, checkResults, qualityScorecards, reconcileResults, reconcileMismatches, reports, extractWatermarks,
  fileEffects, dashboardSessions, dashboardUsers, dashboardTokens, auditEvents,
];

/** Names of the engine's tables, e.g. `task_instances`. */
export const ENGINE_TABLES: readonly string[] = OWNED.map((t) => getTableConfig(t).name);
