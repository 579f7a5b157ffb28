/**
 * Retention on real rows: a seeded history of runs (old and new, success/failed, plus old running
 * and queued runs) with task instances, tries, logs, check/scorecard/reconcile results, reports and
 * an audit table. Expected counts come from the seed plan, remaining counts from our own SQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { withTransaction } from '../../../db/client.ts';
import { cleanRuns } from '../../../engine/retention.ts';
import { Scheduler } from '../../../engine/scheduler.ts';
import { auditTarget, ensureAuditTable } from '../../../jobs/load/audit.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const DAY = 86_400_000;
const NOW = Date.now();
const CUTOFF = new Date(NOW - 30 * DAY);

interface SeedRun {
  dagId: string;
  state: 'success' | 'failed' | 'running' | 'queued';
  endedDaysAgo: number | null;
  tasks: number;
  logsPerTask: number;
  triesPerTask: number;
  audits: number;
}

/** Rows per table a run owns, by the seed plan. */
function rowsOf(r: SeedRun): Record<string, number> {
  return {
    dag_runs: 1,
    task_instances: r.tasks,
    task_logs: r.tasks * r.logsPerTask,
    task_tries: r.tasks * r.triesPerTask,
    check_results: 2,
    quality_scorecards: 1,
    reconcile_results: 1,
    reconcile_mismatches: 3,
    reports: 1,
    callback_events: 1,
    'audit.orders_rejects': r.audits,
  };
}
const TABLES = Object.keys(rowsOf({ tasks: 0, logsPerTask: 0, triesPerTask: 0, audits: 0 } as SeedRun));

function plan(): SeedRun[] {
  const runs: SeedRun[] = [];
  for (let i = 0; i < 24; i++) {
    runs.push({
      dagId: i % 2 ? 'ret_b' : 'ret_a',
      state: i % 3 ? 'success' : 'failed',
      endedDaysAgo: i < 16 ? 31 + i : 29 - i, // 16 old, 8 new (the last ones ended "in the future" of the cutoff)
      tasks: 1 + (i % 3),
      logsPerTask: 1 + (i % 4),
      triesPerTask: 1 + (i % 2),
      audits: i % 5,
    });
  }
  // Old but not finished: never deleted, whatever ended_at says.
  runs.push({ dagId: 'ret_a', state: 'running', endedDaysAgo: 60, tasks: 2, logsPerTask: 2, triesPerTask: 1, audits: 2 });
  runs.push({ dagId: 'ret_b', state: 'queued', endedDaysAgo: null, tasks: 1, logsPerTask: 0, triesPerTask: 0, audits: 0 });
  return runs;
}

const sum = (runs: SeedRun[]) => {
  const out = Object.fromEntries(TABLES.map((t) => [t, 0]));
  for (const r of runs) for (const [t, n] of Object.entries(rowsOf(r))) out[t] += n;
  return out;
};
const isOld = (r: SeedRun) => (r.state === 'success' || r.state === 'failed') && r.endedDaysAgo !== null && NOW - r.endedDaysAgo * DAY < CUTOFF.getTime();

describe('retention', () => {
  let t: TestEngine;
  const seeded: SeedRun[] = [];
  let logicalDay = 0;

  async function seed(runs: SeedRun[]): Promise<void> {
    await withTransaction(t.database.pool, async (c) => {
      const audit = auditTarget('orders');
      await ensureAuditTable(c, audit);
      for (const r of runs) {
        const ended = r.endedDaysAgo === null ? null : new Date(NOW - r.endedDaysAgo * DAY);
        const { rows } = await c.query<{ id: number }>(
          `INSERT INTO dag_runs (dag_id, logical_date, interval_end, state, run_type, started_at, ended_at)
           VALUES ($1, $2, $2::timestamptz + interval '1 day', $3, 'scheduled', $2, $4) RETURNING id`,
          [r.dagId, new Date(Date.UTC(2020, 0, 1) + logicalDay++ * DAY), r.state, ended],
        );
        const runId = rows[0].id;
        for (let k = 0; k < r.tasks; k++) {
          const ti = await c.query<{ id: number }>(
            `INSERT INTO task_instances (run_id, task_id, state, queue) VALUES ($1, $2, 'success', 'noop') RETURNING id`,
            [runId, `task_${k}`],
          );
          const id = ti.rows[0].id;
          await c.query(`INSERT INTO task_logs (task_instance_id, try_number, level, message) SELECT $1, 1, 'info', 'line ' || g FROM generate_series(1, $2) g`, [id, r.logsPerTask]);
          await c.query(`INSERT INTO task_tries (task_instance_id, try_number, state) SELECT $1, g, 'success' FROM generate_series(1, $2) g`, [id, r.triesPerTask]);
        }
        await c.query(
          `INSERT INTO check_results (run_id, task_id, check_name, check_kind, table_name, severity, rows_evaluated, rows_failing, outcome, duration_ms)
           SELECT $1, 'checks', 'c' || g, 'not_null', 'orders', 'error', 10, 0, 'pass', 1 FROM generate_series(1, 2) g`,
          [runId],
        );
        await c.query(
          `INSERT INTO quality_scorecards (run_id, task_id, table_name, total_rows, clean_rows, rows_with_issues, score)
           VALUES ($1, 'checks', 'orders', 10, 10, 0, 100)`,
          [runId],
        );
        const rec = await c.query<{ id: number }>(
          `INSERT INTO reconcile_results (run_id, task_id, name, left_source, right_source, severity, keys_total, matched, mismatched, left_only, right_only, outcome, duration_ms)
           VALUES ($1, 'rec', 'totals', 'a', 'b', 'error', 5, 2, 3, 0, 0, 'fail', 1) RETURNING id`,
          [runId],
        );
        await c.query(
          `INSERT INTO reconcile_mismatches (result_id, run_id, task_id, name, status, key)
           SELECT $1, $2, 'rec', 'totals', 'mismatched', jsonb_build_object('k', g) FROM generate_series(1, 3) g`,
          [rec.rows[0].id, runId],
        );
        await c.query(
          `INSERT INTO reports (run_id, task_id, path, file_name, logical_date, row_count, bytes, sha256, columns, rows)
           VALUES ($1, 'report', '/tmp/r.csv', 'r.csv', now(), 0, 0, 'x', '[]', '[]')`,
          [runId],
        );
        await c.query(
          `INSERT INTO callback_events (key, dag_id, run_id, event) VALUES ('run:' || $1 || ':success', $2, $1::bigint, 'success')`,
          [runId, r.dagId],
        );
        await c.query(
          `INSERT INTO ${audit.sql} (run_id, task_id, file, line, raw, errors, reason)
           SELECT $1::text, 'load', 'f.csv', g, 'raw', '[]', 'bad' FROM generate_series(1, $2) g`,
          [runId, r.audits],
        );
        await c.query(
          `INSERT INTO load_ledger (target, sha256, path, bytes, run_id, task_id, rows_read, rows_loaded, rows_rejected, rows_deduplicated)
           VALUES ('orders', md5($1::text), 'f.csv', 1, $1::text, 'load', 1, 1, 0, 0)`,
          [runId],
        );
      }
    });
    seeded.push(...runs);
  }

  /** Rows per table now, by our own count(*). */
  async function tableCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of [...TABLES, 'load_ledger']) {
      const name = table.startsWith('audit.') ? `audit."${table.slice(6)}"` : table;
      out[table] = (await t.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`)).rows[0].n;
    }
    return out;
  }

  /** The result restricted to seeded tables; every other table it reports must be 0. */
  function seededPart(counts: Map<string, number>): Record<string, number> {
    for (const [table, n] of counts) if (!TABLES.includes(table)) expect(n, table).toBe(0);
    return Object.fromEntries(TABLES.map((table) => [table, counts.get(table) ?? -1]));
  }

  beforeAll(async () => {
    t = await startTestEngine({ backend: 'redis', dags: [], workers: false });
    await seed(plan());
  });
  afterAll(async () => t?.close());

  it('a dry run reports exactly the rows of old ended runs and changes nothing', async () => {
    const before = await tableCounts();
    const { deleted: counts, kept } = await cleanRuns(t.database.pool, { before: CUTOFF, dryRun: true });
    expect(seededPart(counts)).toEqual(sum(seeded.filter(isOld)));
    expect(kept).toBe(0); // each DAG's latest run is the running or queued one
    expect(await tableCounts()).toEqual(before);
  });

  it('--dag cleans only that DAG, in batches smaller than a run', async () => {
    const before = await tableCounts();
    const oldA = seeded.filter((r) => isOld(r) && r.dagId === 'ret_a');
    const { deleted: counts } = await cleanRuns(t.database.pool, { before: CUTOFF, dagId: 'ret_a', batchSize: 3 });
    expect(seededPart(counts)).toEqual(sum(oldA));
    const after = await tableCounts();
    for (const table of TABLES) expect(after[table], table).toBe(before[table] - sum(oldA)[table]);
    expect(after.load_ledger).toBe(before.load_ledger); // the ledger dedupes files: kept
  });

  it('cleaning everything deletes the seeded old rows and leaves new, running and queued runs whole', async () => {
    const { deleted: counts } = await cleanRuns(t.database.pool, { before: CUTOFF, batchSize: 7 });
    expect(seededPart(counts)).toEqual(sum(seeded.filter((r) => isOld(r) && r.dagId === 'ret_b')));
    const kept = seeded.filter((r) => !isOld(r));
    const after = await tableCounts();
    expect(Object.fromEntries(TABLES.map((table) => [table, after[table]]))).toEqual(sum(kept));
    const states = await t.database.pool.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM dag_runs GROUP BY state ORDER BY state',
    );
    const expected = new Map<string, number>();
    for (const r of kept) expected.set(r.state, (expected.get(r.state) ?? 0) + 1);
    expect(states.rows).toEqual([...expected].sort(([a], [b]) => a.localeCompare(b)).map(([state, n]) => ({ state, n })));
    // Nothing is left to clean.
    expect([...(await cleanRuns(t.database.pool, { before: CUTOFF })).deleted.values()].every((n) => n === 0)).toBe(true);
  });

  it('the scheduler applies RETENTION_DAYS at start; without it, nothing is deleted', async () => {
    const extra: SeedRun = { dagId: 'ret_c', state: 'success', endedDaysAgo: 45, tasks: 2, logsPerTask: 3, triesPerTask: 1, audits: 4 };
    // A newer run of ret_c, so the old one is not its DAG's latest (which retention keeps).
    await seed([extra, { dagId: 'ret_c', state: 'queued', endedDaysAgo: null, tasks: 1, logsPerTask: 0, triesPerTask: 0, audits: 0 }]);
    const lines: { msg: string; deleted?: Record<string, number> }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const start = async (retentionDays?: number) => {
      const scheduler = new Scheduler(t.engine.pool, t.engine.dispatcher, new Map(), log, { retentionDays });
      await scheduler.start();
      await scheduler.stop(); // waits for the retention pass started at start
    };
    const before = await tableCounts();
    await start(0);
    expect(await tableCounts()).toEqual(before);
    await start(30);
    const after = await tableCounts();
    for (const table of TABLES) expect(after[table], table).toBe(before[table] - rowsOf(extra)[table]);
    const applied = lines.find((l) => l.msg === 'retention applied');
    expect(applied?.deleted?.task_logs).toBe(6);
    expect(applied?.deleted?.dag_runs).toBe(1);
  });
});
